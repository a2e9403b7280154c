import ArgumentParser
import Engine
import Sensors

/// `sentinel check`: whether this host can run sentinel, with every probe family sentinel has.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try every probe, Docker and packet capture on this host, and say what is missing.",
        discussion: """
        Loads each eBPF probe family into the kernel and attaches it (then takes it out again), asks \
        Docker's socket its version, and opens a capture on loopback. Exit status 0 when sentinel \
        can run here, 1 when something it needs is missing (each problem is said). A run's own \
        `--dry-run` tries only what its rules need.
        """
    )

    @OptionGroup(title: "Live monitoring")
    var live: LiveOptions

    func run() throws {
        let everything = ProbeSelection(eventTypes: Set(EventType.allCases), streamedSystemCalls: .all, includeHost: false)
        let ready = live.checkHost(gathering: everything, withKernelRequests: true)
        printError(ready ? "sentinel: this host can run sentinel" : "sentinel: this host cannot run sentinel yet: see the problems above")
        if !ready { throw ExitStatus.failure }
    }
}
