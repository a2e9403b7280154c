import BoSC
import CLibbpf
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Live events from the kernel: the probes of bpf/ write records to one ring buffer; this turns
/// each into an `Event`, with the process's container named from its cgroup and the container's
/// name and image from Docker. Before the first record, every running process enters the process
/// table (`procinfo` events from /proc), so processes older than sentinel have their ancestry.
///
/// Its parts, each with one job: `Probes` load and attach the programs, a `RingReader` reads the
/// ring, `CgroupVerdicts` say whose each cgroup is (and tell the kernel), `RecordDecoder` makes
/// events of records, a `ProcessAnnouncer` reads from /proc what the probes did not see begin, and
/// `RecordCounters` count what came against what the kernel produced.
public final class EBPFSensor: Sensor {
    public struct Options: Sendable {
        public var probes: ProbeSelection
        /// nil: do not ask Docker; container ids still work, names and images stay empty.
        public var dockerSocket: String?
        /// Where a refused program's verifier log is written.
        public var verifierLogDirectory: String
        /// How often `onStatistics` is called.
        public var statisticsInterval: Double
        /// The ring buffer's size: a power of two, at least 4096.
        public var ringBufferBytes: UInt32
        /// What `bosc` rules ask of the kernel, container by container; nil when there is no such rule.
        public var kernelRequests: KernelRequests?

        public init(probes: ProbeSelection, dockerSocket: String? = "/var/run/docker.sock",
                    verifierLogDirectory: String = "/tmp", statisticsInterval: Double = 10, ringBufferBytes: UInt32 = 8 << 20,
                    kernelRequests: KernelRequests? = nil) {
            self.probes = probes
            self.kernelRequests = kernelRequests
            self.dockerSocket = dockerSocket
            self.verifierLogDirectory = verifierLogDirectory
            self.statisticsInterval = statisticsInterval
            self.ringBufferBytes = ringBufferBytes
        }
    }

    public let label = "ebpf"
    public var statistics: SensorStatistics { counters.withLock { $0.statistics } }

    /// Per record kind: what the kernel produced and dropped (read from its map now) and what
    /// arrived here.
    public var metrics: [MetricReading] {
        let kernel = probes.readCounters()
        let (received, malformed, passedOver) = counters.withLock { ($0.receivedByKind, $0.malformed, $0.systemCallsPassedOver) }
        var metrics: [MetricReading] = []
        for kind in 1..<received.count {
            let produced = kind < kernel.count ? kernel[kind].produced : 0
            let dropped = kind < kernel.count ? kernel[kind].dropped : 0
            let name = RecordDecoder.kindName(UInt32(kind))
            metrics.append(MetricReading("kernel_records_produced_total", "Records the eBPF probes wrote, or tried to, per kind.", labels: [("kind", name)], produced))
            metrics.append(MetricReading("kernel_records_received_total", "Records read from the ring buffer, per kind.", labels: [("kind", name)], received[kind]))
            metrics.append(MetricReading("kernel_records_dropped_total", "Records the kernel could not write (the ring buffer was full), per kind.", labels: [("kind", name)], dropped))
        }
        metrics.append(MetricReading("kernel_records_malformed_total", "Records that could not be decoded.", malformed))
        let attached = Set(probes.attached)
        for family in ProbeFamily.all {
            metrics.append(MetricReading("probe_family_attached", "Whether a probe family's programs are attached (1), as the rules in force need.",
                                         kind: .gauge, labels: [("family", family.name)], attached.contains(family.name) ? 1 : 0))
        }
        metrics.append(MetricReading("kernel_cgroup_verdicts", "Cgroups the kernel's verdicts map holds (those gone are swept out).",
                                     kind: .gauge, UInt64(probes.verdictCount())))
        metrics.append(MetricReading("kernel_system_calls_passed_over_total", "System calls received for the host's cgroups and not made events.", passedOver))
        return metrics
    }
    /// Which probe families are attached, for the start-up message.
    public var attachedFamilies: [String] { probes.attached }

    private let options: Options
    private let probes: Probes
    private let stopped = StopFlag()
    private let counters = Mutex(RecordCounters())
    private let onStatistics: (SensorStatistics, String) -> Void
    private let onWarning: (String) -> Void
    private let metadata: ContainerMetadata?
    private let clock = BootClock()
    /// BoSC in the kernel, from when the system-call family is loaded.
    private var kernelJudge: KernelJudge?
    private let cgroups: CgroupVerdicts
    private var processes = ProcessAnnouncer()
    private var accounts = AccountNames()
    private var announcedContainers: Set<String> = []
    private var deliver: ((Event) -> Void)?

    /// Loads and attaches the probes now, so that what is missing (root, BTF, a verifier's no) is
    /// said before anything runs.
    public init(options: Options, onStatistics: @escaping (SensorStatistics, String) -> Void, onWarning: @escaping (String) -> Void) throws {
        self.options = options
        self.onStatistics = onStatistics
        let probes = try Probes(selection: options.probes, ringBufferBytes: options.ringBufferBytes, verifierLogDirectory: options.verifierLogDirectory)
        self.probes = probes
        self.onWarning = onWarning
        metadata = options.dockerSocket.map { ContainerMetadata(client: DockerClient(socketPath: $0), onWarning: onWarning) }
        cgroups = CgroupVerdicts(includeHost: options.probes.includeHost,
                                 tellKernel: { probes.setVerdict($1, cgroupID: $0) },
                                 forgetInKernel: { probes.forgetVerdict(cgroupID: $0) })
        cgroups.onLearnt = { [unowned self] in self.kernelJudge?.learnt(cgroup: $0, container: $1) }
        startKernelJudgeIfLoaded()
    }

    /// Once the system-call family is loaded (at the start, or by a reload), BoSC's requests are
    /// carried out in its maps; the cgroups learnt before then are told to it.
    private func startKernelJudgeIfLoaded() {
        let containersFD = probes.mapFD("bosc_containers")
        guard kernelJudge == nil, containersFD >= 0 else { return }
        let trainings = KernelTrainings(trainingsFD: probes.mapFD("bosc_trainings"), bagsFD: probes.mapFD("bosc_training_bags"),
                                        callsFD: probes.mapFD("bosc_training_calls"))
        if let trainings { options.kernelRequests?.setTrainingReader { trainings.counts(of: $0) } }
        let judge = KernelJudge(containersFD: containersFD, callValuesFD: probes.mapFD("bosc_call_values"), knownFD: probes.mapFD("bosc_known"),
                                trainings: trainings, includeHost: options.probes.includeHost, onWarning: onWarning)
        for (cgroup, container) in cgroups.learnt { judge.learnt(cgroup: cgroup, container: container) }
        kernelJudge = judge
    }

    // MARK: - A reload's new rules

    /// Off the sensor's thread: loads the probe families `selection` needs that are not loaded
    /// yet (the verifier's pass), without attaching them. Throws `ProbeError` if the kernel
    /// refuses one; the probes in force are untouched.
    public func prepareGathering(_ selection: ProbeSelection) throws -> LoadedFamilies {
        try probes.load(for: adjusted(selection))
    }

    /// On the sensor's thread, between two records (a reload's swap): from the next record on,
    /// the probes gather what `selection` says, `loaded` (from `prepareGathering`) joining the
    /// families loaded. Returns what could not be attached, said for a person. Without a BoSC
    /// rule any more, no container stays judged or trained in the kernel.
    public func applyGathering(_ selection: ProbeSelection, loaded: LoadedFamilies) -> [String] {
        let problems = probes.apply(adjusted(selection), adding: loaded)
        startKernelJudgeIfLoaded()
        if !selection.streamUndecided, let kernelJudge {
            for container in kernelJudge.wanted.keys { kernelJudge.apply(.ignore(container: container)) }
        }
        return problems
    }

    /// The host is watched or not for the whole run: the probes' .rodata says so.
    private func adjusted(_ selection: ProbeSelection) -> ProbeSelection {
        var selection = selection
        selection.includeHost = options.probes.includeHost
        return selection
    }

    public func stop() { stopped.set() }

    public func run(deliver: (Event) -> Void, between: () -> Void) throws {
        try withoutActuallyEscaping(deliver) { deliver in
            self.deliver = deliver
            defer { self.deliver = nil }
            metadata?.start(isStopped: { [stopped] in stopped.isSet })
            cgroups.classifyExisting()
            processes.announceAll(deliverWithContainer)
            try readRecords(between: between)
        }
        // The maps stay until the sensor goes: rules read what the kernel counted (BoSC's
        // trainings) when they save their state, after the run.
        probes.detachPrograms()
    }

    private func readRecords(between: () -> Void) throws {
        let reader = try RingReader(ringFD: probes.eventsFD) { [unowned self] record, size in handle(record: record, size: size) }
        var lastStatistics = clock.monotonicSeconds()
        try reader.run(isStopped: { stopped.isSet }) {
            between()
            applyKernelRequests()
            let now = clock.monotonicSeconds()
            if now - lastStatistics >= options.statisticsInterval {
                lastStatistics = now
                reportStatistics()
                sweepContainers()
            }
        }
        // Stop the producers first, then deliver what they wrote: the final counts then add up.
        probes.detachPrograms()
        reader.drain()
        reportStatistics()
    }

    private func reportStatistics() {
        let kernel = probes.readCounters()
        let (statistics, line) = counters.withLock { counters in
            counters.kernel = kernel
            return (counters.statistics, counters.summary)
        }
        onStatistics(statistics, line)
    }

    /// What rules asked since the last poll (they ask while the events are delivered).
    private func applyKernelRequests() {
        guard let requests = options.kernelRequests?.take(), !requests.isEmpty else { return }
        guard let kernelJudge else { return }
        for request in requests { kernelJudge.apply(request) }
    }

    // MARK: - Records to events

    private func handle(record: UnsafeRawPointer, size: Int) {
        guard size >= MemoryLayout<sentinel_header>.size else { return }
        let header = record.loadUnaligned(as: sentinel_header.self)
        if header.kind == SENTINEL_RECORD_SYSCALLS.rawValue {
            handleSystemCalls(batch: record, size: size)
            return
        }
        if header.kind == SENTINEL_RECORD_BOSC_UNKNOWN_BAG.rawValue {
            counters.withLock { $0.received(kind: header.kind) }
            if kernelJudge?.unknownBag(record, size: size, cgroup: header.cgroup_id) != true { counters.withLock { $0.malformed += 1 } }
            return
        }
        counters.withLock { $0.received(kind: header.kind) }
        let time = clock.wallTime(bootNanoseconds: header.boot_ns)
        let containerID: String?
        switch cgroups.owner(ofCgroup: header.cgroup_id, pid: Int32(bitPattern: header.pid)) {
        case .unwatched: return
        case .known(let id): containerID = id
        case .unresolved: containerID = nil
        }
        let decoder = RecordDecoder(record: record, size: size, header: header, time: time, containerID: containerID)
        let event = header.kind == SENTINEL_RECORD_BOSC_EPOCH.rawValue || header.kind == SENTINEL_RECORD_BOSC_TRAINING_EPOCH.rawValue
            ? boscEpoch(record, size: size, header: header, time: time, containerID: containerID)
            : decoder.event()
        guard let event else {
            counters.withLock { $0.malformed += 1 }
            return
        }
        let pid = Int32(truncatingIfNeeded: event.pid)
        switch event.type {
        case .execve, .execveat, .clone:
            processes.announceAncestors(of: Int32(truncatingIfNeeded: event.ppid ?? 0), nameIfGone: decoder.parentName, deliverWithContainer)
            processes.began(pid)
        case .procexit:
            processes.exited(pid)
        default:
            processes.announceAncestors(of: pid, deliverWithContainer)
        }
        counters.withLock { $0.delivered += 1 }
        deliverWithContainer(event)
    }

    /// Delivers `event`, after its container's metadata the first time the container is met.
    private func deliverWithContainer(_ event: Event) {
        var event = event
        if let containerID = event.containerID {
            announce(container: containerID)
            // A new image (an exec, or a process found in /proc): its user's and group's names.
            if event.type.isExec || event.type == .procinfo, let uid = event.process.uid, let gid = event.process.gid {
                let names = accounts.names(uid: uid, gid: gid, containerID: containerID, pid: Int32(truncatingIfNeeded: event.pid), now: clock.monotonicSeconds())
                (event.process.userName, event.process.groupName) = (names.user, names.group)
            }
        }
        deliver?(event)
    }

    /// A BoSC epoch's verdict (or a training epoch's figures) from the kernel.
    private func boscEpoch(_ record: UnsafeRawPointer, size: Int, header: sentinel_header, time: UInt64, containerID: String?) -> Event? {
        let epoch = header.kind == SENTINEL_RECORD_BOSC_TRAINING_EPOCH.rawValue
            ? kernelJudge?.trainingEpoch(record, size: size) : kernelJudge?.epoch(record, size: size, cgroup: header.cgroup_id)
        guard let epoch, let containerID else { return nil }
        return Event(type: .boscepoch, time: time, pid: Int64(header.pid), tid: Int64(header.tid), containerID: containerID,
                     payload: .boscEpoch(epoch))
    }

    /// A batch of system calls: a `syscall` event for each call of a watched cgroup. The kernel
    /// sent only the calls some rule wants.
    private func handleSystemCalls(batch record: UnsafeRawPointer, size: Int) {
        guard size >= MemoryLayout<sentinel_syscalls>.size else {
            counters.withLock { $0.malformed += 1 }
            return
        }
        let callsOffset = MemoryLayout<sentinel_syscalls>.offset(of: \sentinel_syscalls.calls)!
        let header = record.loadUnaligned(as: sentinel_header.self)
        let count = min(Int(record.loadUnaligned(fromByteOffset: MemoryLayout<sentinel_header>.size, as: UInt32.self)), Int(SENTINEL_SYSCALL_BATCH))
        counters.withLock { $0.received(kind: header.kind, count: UInt64(count)) }
        let time = clock.wallTime(bootNanoseconds: header.boot_ns)
        var delivered: UInt64 = 0
        for index in 0..<count {
            let call = record.loadUnaligned(fromByteOffset: callsOffset + index * MemoryLayout<sentinel_syscall>.stride, as: sentinel_syscall.self)
            let containerID: String?
            switch cgroups.owner(ofCgroup: call.cgroup_id, pid: Int32(bitPattern: call.pid)) {
            case .unwatched: continue
            case .known(let id): containerID = id
            case .unresolved: containerID = nil
            }
            delivered += 1
            deliver?(Event(type: .syscall, time: time, pid: Int64(call.pid), tid: Int64(call.tid),
                           containerID: containerID, payload: .syscall(number: Int64(call.nr))))
        }
        counters.withLock {
            $0.delivered += delivered
            $0.systemCallsPassedOver += UInt64(count) - delivered
        }
    }

    /// Forgets the cgroups and containers that are gone, in the kernel's maps and here, and tells
    /// the engine of each container gone, so that its tables stay as big as what runs.
    private func sweepContainers() {
        let existing = cgroups.paths.existingIDs()
        kernelJudge?.forgetCgroups(notIn: existing)
        for id in cgroups.forget(notIn: existing) where announcedContainers.remove(id) != nil {
            deliver?(Event(type: .container, time: clock.now(), pid: 0, containerID: id, payload: .container(ContainerFacts(name: "", image: "", removed: true))))
        }
    }

    /// Before a container's first event: a `container` event with its name and image, so that
    /// its first alert already shows them.
    private func announce(container id: String) {
        guard id != ContainerRecord.hostID, !announcedContainers.contains(id) else { return }
        announcedContainers.insert(id)
        guard let facts = metadata?.facts(id: id) else { return }
        deliver?(Event(type: .container, time: clock.now(), pid: 0, containerID: id, payload: .container(facts)))
    }
}
