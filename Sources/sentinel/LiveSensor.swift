import ArgumentParser
import BoSC
import Engine
import Outputs
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// The options of live monitoring, shared by `run` and `record`.
struct LiveOptions: ParsableArguments {
    @Flag(name: .customLong("include-host"), help: "Watch the host's processes too, not only containers'.")
    var includeHost = false

    @Option(name: .customLong("docker-socket"), help: ArgumentHelp("The Docker Engine API socket, for container names and images; \"\" to not ask Docker.", valueName: "path"))
    var dockerSocket = "/var/run/docker.sock"

    @Option(name: .customLong("stats-interval"), help: ArgumentHelp("Seconds between the sensor's statistics lines on stderr.", valueName: "seconds"))
    var statisticsInterval: Double = 60

    @Option(name: .customLong("ring-buffer-kib"), help: ArgumentHelp("The kernel-to-sentinel ring buffer's size in KiB: a power of two, at least 4. Events beyond it in a burst are dropped and counted.", valueName: "kib"))
    var ringBufferKiB: UInt32 = 8192

    @Option(name: .customLong("verifier-log-dir"), help: ArgumentHelp("Where to save the kernel verifier's log if it refuses a probe.", valueName: "dir"))
    var verifierLogDirectory = "/tmp"

    func validate() throws {
        guard ringBufferKiB >= 4, ringBufferKiB <= 1 << 20, ringBufferKiB & (ringBufferKiB - 1) == 0 else {
            throw ValidationError("--ring-buffer-kib must be a power of two from 4 to 1048576, not \(ringBufferKiB)")
        }
        guard statisticsInterval > 0 else { throw ValidationError("--stats-interval must be more than 0 seconds") }
    }

    /// Loads and attaches the probes that gather what `wanted` says (its event types, system calls,
    /// narrowed calls: see `probes(gathering:withKernelRequests:)`), and what `bosc` rules ask
    /// through `kernelRequests`. Application messages add the pcap sensor, set up by `pcap`.
    /// Statistics go to stderr; a rise in dropped events also goes to `onDrop` (the outputs, as a
    /// `sentinel` alert), so that a SIEM sees the gap.
    func makeSensors(gathering wanted: ProbeSelection, kernelRequests: KernelRequests? = nil,
                     pcap: PcapSensor.Options = PcapSensor.Options(), onDrop: @escaping (Alert) -> Void) throws -> LiveSensors {
        let probes = try makeEBPFSensor(gathering: wanted, kernelRequests: kernelRequests, onDrop: onDrop)
        guard !wanted.eventTypes.isDisjoint(with: EventType.messages) else { return LiveSensors(sensor: probes, probes: probes, capturing: false) }
        var options = pcap
        options.dockerSocket = dockerSocket.isEmpty ? nil : dockerSocket
        options.statisticsInterval = statisticsInterval
        let capture = PcapSensor(options: options, onStatistics: reportingDrops(of: "pcap", to: onDrop), onWarning: { printError("sentinel: \($0)") })
        printError("sentinel: reading application messages from \(options.interfaces.map { $0.joined(separator: ", ") } ?? "every container's veth") with libpcap")
        return LiveSensors(sensor: SensorGroup([probes, capture]), probes: probes, capturing: true)
    }

    /// What the probes gather: what the rules want, as the command line says (the host too?);
    /// with `bosc` rules (`withKernelRequests`), every call of a container until one decides.
    func probes(gathering wanted: ProbeSelection, withKernelRequests: Bool) -> ProbeSelection {
        var probes = wanted
        probes.streamUndecided = withKernelRequests
        probes.includeHost = includeHost
        return probes
    }

    /// What the probes gather for a rule set.
    func probes(for rules: RuleIndex, withKernelRequests: Bool) -> ProbeSelection {
        probes(gathering: ProbeSelection(for: rules), withKernelRequests: withKernelRequests)
    }

    /// Each part of a live run tried on this host, for `--dry-run` and `sentinel check`: a line
    /// each on stderr; whether every part a run cannot do without works.
    func checkHost(gathering wanted: ProbeSelection, withKernelRequests: Bool) -> Bool {
        let findings = HostCheck.run(probes: probes(gathering: wanted, withKernelRequests: withKernelRequests),
                                     dockerSocket: dockerSocket.isEmpty ? nil : dockerSocket,
                                     capture: !wanted.eventTypes.isDisjoint(with: EventType.messages))
        for finding in findings { printError("sentinel: \(finding.line)") }
        return findings.allSatisfy { $0.problem == nil || $0.optional }
    }

    private func makeEBPFSensor(gathering wanted: ProbeSelection, kernelRequests: KernelRequests?, onDrop: @escaping (Alert) -> Void) throws -> EBPFSensor {
        let options = EBPFSensor.Options(
            probes: wanted,
            dockerSocket: dockerSocket.isEmpty ? nil : dockerSocket,
            verifierLogDirectory: verifierLogDirectory,
            statisticsInterval: statisticsInterval,
            ringBufferBytes: ringBufferKiB * 1024,
            kernelRequests: kernelRequests)
        do {
            let sensor = try EBPFSensor(options: options, onStatistics: reportingDrops(of: "ebpf", to: onDrop), onWarning: { printError("sentinel: \($0)") })
            printError("sentinel: watching \(includeHost ? "containers and the host" : "containers") with the eBPF probes \(sensor.attachedFamilies.joined(separator: ", "))")
            return sensor
        } catch let error as ProbeError {
            printError("sentinel: \(error.description)")
            throw ExitStatus.badInput
        }
    }
}

/// What a live run watches with: every sensor as one, and the eBPF sensor on its own, whose
/// probes a reload retunes.
struct LiveSensors {
    let sensor: Sensor
    let probes: EBPFSensor
    /// Whether packets are captured: the capture starts with the run, a reload cannot start it.
    let capturing: Bool
}

/// Prints a sensor's statistics line; a rise in its drops also goes to `onDrop` as an alert.
private func reportingDrops(of sensor: String, to onDrop: @escaping (Alert) -> Void) -> (SensorStatistics, String) -> Void {
    var droppedSoFar: UInt64 = 0
    return { statistics, summary in
        printError("sentinel: \(sensor): \(summary)")
        guard statistics.dropped > droppedSoFar else { return }
        let lost = statistics.dropped - droppedSoFar
        droppedSoFar = statistics.dropped
        onDrop(Alert(time: wallClockNow(), rule: "Events dropped", priority: .error,
                     output: "sentinel lost \(lost) events (\(statistics.dropped) since start): \(sensor): \(summary)",
                     outputFields: [Alert.Field(name: "sentinel.dropped", value: .number(Int64(lost))),
                                    Alert.Field(name: "sentinel.dropped_total", value: .number(Int64(statistics.dropped)))],
                     tags: ["sentinel", "drops"], source: "sentinel"))
    }
}

func wallClockNow() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
