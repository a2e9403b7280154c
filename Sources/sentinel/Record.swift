import ArgumentParser
import Dispatch
import Engine
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// `sentinel record --out FILE`: live events to a recording that `sentinel --replay FILE` judges
/// as it would have judged them live.
struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record live events to a file in the replay format (JSON lines).",
        discussion: """
        Records process, file-open and TCP events (and system calls with --syscalls, application \
        messages with --messages) until SIGINT, \
        SIGTERM or --seconds. The recording starts with every running process and the containers' \
        names and images, so that a replay has the same process table. Replaying it through the \
        same rules (sentinel --rules DIR --replay FILE) gives the alerts a live run would have given.
        """
    )

    @Option(name: .long, help: ArgumentHelp("The recording to write (- for stdout).", valueName: "file"))
    var out: String

    @Flag(name: .long, help: "Record every system call of the watched containers too (many events).")
    var syscalls = false

    @Flag(name: .long, help: "Record the application messages in containers' traffic too (HTTP, DNS, TLS, MySQL), captured with libpcap.")
    var messages = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var seconds: Double?

    @OptionGroup(title: "Live monitoring")
    var live: LiveOptions

    func run() throws {
        guard let file = out == "-" ? fdopen(dup(STDOUT_FILENO), "w") : fopen(out, "w") else {
            printError("sentinel: cannot write \(out): \(String(cString: strerror(errno)))")
            throw ExitStatus.badInput
        }
        var types = EventType.withProcess
        if !syscalls { types.remove(.syscall) }
        if messages { types.formUnion(EventType.messages) }
        let wanted = live.probes(gathering: ProbeSelection(eventTypes: types, includeHost: false), withKernelRequests: false)
        let sensor = try live.makeSensors(gathering: wanted, onDrop: { alert in printError("sentinel: \(alert.output)") }).sensor
        let signals = handleSignals(stopping: sensor, onReopen: {}, onHangup: {})
        if let seconds {
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [sensor = UncheckedSensor(sensor)] in sensor.value.stop() }
        }
        var written: UInt64 = 0
        var writeFailed = false
        do {
            try sensor.run { event in
                guard !writeFailed else { return }
                if fputs(EventCodec.encode(event) + "\n", file) < 0 { writeFailed = true } else { written += 1 }
            }
        } catch let error as ProbeError {
            printError("sentinel: \(error.description)")
            throw ExitStatus.badInput
        }
        signals.forEach { $0.cancel() }
        if fclose(file) != 0 { writeFailed = true }
        let statistics = sensor.statistics
        printError("sentinel: recorded \(written) events to \(out); sensor: \(statistics.delivered) delivered, \(statistics.dropped) dropped")
        if writeFailed {
            printError("sentinel: writing \(out) failed: \(String(cString: strerror(errno))); the recording is incomplete")
            throw ExitStatus.failure
        }
        if statistics.dropped > 0 { throw ExitStatus.failure }
    }
}

/// Lets the timer's queue stop the sensor; `Sensor.stop` is safe from any thread.
private struct UncheckedSensor: @unchecked Sendable {
    let value: Sensor
    init(_ value: Sensor) { self.value = value }
}
