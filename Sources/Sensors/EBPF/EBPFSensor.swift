import BoSC
import CLibbpf
import Dispatch
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Live events from the kernel: the probes of bpf/ write records to one ring buffer; this turns
/// each into an `Event`, with the process's container named from its cgroup and the container's
/// name and image from Docker. Before the first record, every running process enters the process
/// table (`procinfo` events from /proc), so processes older than sentinel have their ancestry.
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
    /// Which probe families are attached, for the start-up message.
    public var attachedFamilies: [String] { probes.attached }

    private let options: Options
    private let probes: Probes
    private let stopped = StopFlag()
    private let counters = Mutex(RecordCounters())
    private let onStatistics: (SensorStatistics, String) -> Void
    private let onWarning: (String) -> Void
    private let cgroupPaths = CgroupPaths()
    private let metadata: ContainerMetadata?
    private let clock = BootClock()
    /// BoSC in the kernel, when the system-call family is loaded.
    private let kernelJudge: KernelJudge?

    /// Cgroup id → its container id, or `ContainerRecord.hostID`.
    private var containerOfCgroup: [UInt64: String] = [:]
    /// Cgroups gone before their path was read. Looked for once: each look walks the whole cgroup
    /// tree, and a dead container's last batches of system calls would ask thousands of times.
    /// Cgroup ids are not reused.
    private var vanishedCgroups: Set<UInt64> = []
    private var announcedContainers: Set<String> = []
    private var knownPIDs: Set<Int32> = []
    private var deliver: ((Event) -> Void)?

    /// Loads and attaches the probes now, so that what is missing (root, BTF, a verifier's no) is
    /// said before anything runs.
    public init(options: Options, onStatistics: @escaping (SensorStatistics, String) -> Void, onWarning: @escaping (String) -> Void) throws {
        self.options = options
        self.onStatistics = onStatistics
        self.onWarning = onWarning
        probes = try Probes(selection: options.probes, ringBufferBytes: options.ringBufferBytes, verifierLogDirectory: options.verifierLogDirectory)
        metadata = options.dockerSocket.map { ContainerMetadata(client: DockerClient(socketPath: $0), onWarning: onWarning) }
        let containersFD = probes.mapFD("bosc_containers")
        kernelJudge = containersFD < 0 ? nil : KernelJudge(containersFD: containersFD, callValuesFD: probes.mapFD("bosc_call_values"),
                                                           knownFD: probes.mapFD("bosc_known"), includeHost: options.probes.includeHost,
                                                           onWarning: onWarning)
    }

    public func stop() { stopped.set() }

    public func run(deliver: (Event) -> Void) throws {
        try withoutActuallyEscaping(deliver) { deliver in
            self.deliver = deliver
            defer { self.deliver = nil }
            metadata?.start(isStopped: { [stopped] in stopped.isSet })
            classifyExistingCgroups()
            seedProcessTable()
            try pollRecords()
        }
        probes.detach()
    }

    // MARK: - The ring buffer

    /// The longest a record waits in the ring before it is read.
    static let pollMilliseconds: Int32 = 20
    /// The most records read before the loop looks up: libbpf reads on for as long as new records
    /// come, so a container that never stops calling would keep the reader from its requests,
    /// statistics and stop flag (a sentinel that did not stop on SIGINT under such a flood).
    static let recordsPerPass = 16_384
    /// What the record callback returns to end a pass early; libbpf hands it back from the read.
    private static let passFull = -ECANCELED
    private var recordsThisPass = 0

    private func pollRecords() throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let ring = ring_buffer__new(probes.eventsFD, { context, data, size in
            guard let context, let data else { return 0 }
            let sensor = Unmanaged<EBPFSensor>.fromOpaque(context).takeUnretainedValue()
            sensor.handle(record: UnsafeRawPointer(data), size: size)
            sensor.recordsThisPass += 1
            return sensor.recordsThisPass >= EBPFSensor.recordsPerPass ? EBPFSensor.passFull : 0
        }, context, nil) else {
            throw ProbeError(description: "cannot open the events ring buffer: \(String(cString: strerror(errno)))")
        }
        defer { ring_buffer__free(ring) }
        var lastStatistics = clock.monotonicSeconds()
        while !stopped.isSet {
            // The kernel wakes us only when the ring is filling up (see wakeup_flag in
            // common.bpf.h); otherwise records wait here at most this long.
            recordsThisPass = 0
            let status = ring_buffer__poll(ring, Self.pollMilliseconds)
            if status < 0 && status != -EINTR && status != Self.passFull {
                throw ProbeError(description: "reading the events ring buffer failed: \(String(cString: strerror(-status)))")
            }
            if status != Self.passFull {
                recordsThisPass = 0
                ring_buffer__consume(ring)
            }
            applyKernelRequests()
            let now = clock.monotonicSeconds()
            if now - lastStatistics >= options.statisticsInterval {
                lastStatistics = now
                reportStatistics()
                kernelJudge?.forgetCgroups(notIn: cgroupPaths.existingIDs())
            }
        }
        // Stop the producers first, then deliver what they wrote: the final counts then add up.
        probes.detachPrograms()
        repeat { recordsThisPass = 0 } while ring_buffer__consume(ring) == Self.passFull
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
        switch owner(ofCgroup: header.cgroup_id, pid: Int32(bitPattern: header.pid)) {
        case .unwatched: return
        case .known(let id): containerID = id
        case .unresolved: containerID = nil
        }
        let decoder = RecordDecoder(record: record, size: size, header: header, time: time, containerID: containerID)
        let event = header.kind == SENTINEL_RECORD_BOSC_EPOCH.rawValue
            ? boscEpoch(record, size: size, header: header, time: time, containerID: containerID)
            : decoder.event()
        guard let event else {
            counters.withLock { $0.malformed += 1 }
            return
        }
        if let containerID { announce(container: containerID) }
        switch event.type {
        case .execve:
            announceAncestors(of: Int32(truncatingIfNeeded: event.ppid ?? 0), nameIfGone: decoder.parentName)
            knownPIDs.insert(Int32(truncatingIfNeeded: event.pid))
        case .clone:
            announceAncestors(of: Int32(truncatingIfNeeded: event.ppid ?? 0), nameIfGone: decoder.parentName)
            knownPIDs.insert(Int32(truncatingIfNeeded: event.pid))
        case .procexit:
            knownPIDs.remove(Int32(truncatingIfNeeded: event.pid))
        default:
            announceAncestors(of: Int32(truncatingIfNeeded: event.pid))
        }
        counters.withLock { $0.delivered += 1 }
        deliver?(event)
    }

    /// A BoSC epoch's verdict from the kernel.
    private func boscEpoch(_ record: UnsafeRawPointer, size: Int, header: sentinel_header, time: UInt64, containerID: String?) -> Event? {
        guard let epoch = kernelJudge?.epoch(record, size: size, cgroup: header.cgroup_id), let containerID else { return nil }
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
            switch owner(ofCgroup: call.cgroup_id, pid: Int32(bitPattern: call.pid)) {
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

    // MARK: - Containers

    /// Whom a cgroup's events belong to.
    private enum CgroupOwner {
        /// The host, which is not watched: the event goes no further.
        case unwatched
        /// A container's id, or `ContainerRecord.hostID` when the host is watched.
        case known(String)
        /// The cgroup and the process are both gone (a container that lived for milliseconds): the
        /// event still counts, and its process record, from its parent, names the container.
        case unresolved
    }

    /// The owner of a cgroup, learnt once and told to the kernel, which then drops the host's
    /// events itself.
    private func owner(ofCgroup cgroupID: UInt64, pid: Int32) -> CgroupOwner {
        let containerID: String
        if let known = containerOfCgroup[cgroupID] {
            containerID = known
        } else {
            guard !vanishedCgroups.contains(cgroupID),
                  let path = cgroupPaths.path(of: cgroupID) ?? ProcFS.snapshot(pid: pid)?.cgroupPath else {
                if vanishedCgroups.count >= 65_536 { vanishedCgroups.removeAll() }
                vanishedCgroups.insert(cgroupID)
                return .unresolved
            }
            containerID = learn(cgroupID: cgroupID, path: path)
        }
        return containerID == ContainerRecord.hostID && !options.probes.includeHost ? .unwatched : .known(containerID)
    }

    /// Tells the kernel at once about every cgroup that exists, so that the host's events stop
    /// in the kernel from the start rather than after each cgroup's first event.
    private func classifyExistingCgroups() {
        for (cgroupID, path) in cgroupPaths.pathsByID { learn(cgroupID: cgroupID, path: path) }
    }

    /// Records whose cgroup `path` is, and tells the kernel; returns the container id or "host".
    @discardableResult
    private func learn(cgroupID: UInt64, path: String) -> String {
        let containerID = ContainerCgroup.containerID(path: path) ?? ContainerRecord.hostID
        containerOfCgroup[cgroupID] = containerID
        kernelJudge?.learnt(cgroup: cgroupID, container: containerID)
        probes.setVerdict(containerID == ContainerRecord.hostID ? SENTINEL_CGROUP_IGNORE : SENTINEL_CGROUP_WATCH, cgroupID: cgroupID)
        return containerID
    }

    /// Before a container's first event: a `container` event with its name and image, so that
    /// its first alert already shows them.
    private func announce(container id: String) {
        guard id != ContainerRecord.hostID, !announcedContainers.contains(id) else { return }
        announcedContainers.insert(id)
        guard let facts = metadata?.facts(id: id) else { return }
        deliver?(Event(type: .container, time: clock.now(), pid: 0, containerID: id, payload: .container(facts)))
    }

    // MARK: - Processes from /proc

    private func seedProcessTable() {
        var snapshots: [Int32: ProcessSnapshot] = [:]
        for pid in ProcFS.allPIDs() {
            if let snapshot = ProcFS.snapshot(pid: pid) { snapshots[pid] = snapshot }
        }
        // Parents before children, so that each record finds its parent's.
        var emitted: Set<Int32> = []
        func emit(_ snapshot: ProcessSnapshot, depth: Int) {
            guard !emitted.contains(snapshot.pid) else { return }
            emitted.insert(snapshot.pid)
            if depth < ProcessTable.maximumAncestry, let parent = snapshots[snapshot.ppid] { emit(parent, depth: depth + 1) }
            deliverSnapshot(snapshot)
        }
        for pid in snapshots.keys.sorted() { emit(snapshots[pid]!, depth: 0) }
    }

    /// Announces `pid` and its unknown ancestors from /proc, oldest first: a process the kernel
    /// filter kept quiet (a container's shim, on the host) or that began before sentinel. A
    /// process already gone from /proc (runc's, a health check's parent) is announced with only
    /// `nameIfGone`, the name the kernel gave it at its child's fork or exec, on the host: the
    /// container runtime's processes are the ones that come and go unseen.
    private func announceAncestors(of pid: Int32, nameIfGone: String? = nil) {
        var chain: [ProcessSnapshot] = []
        var current = pid
        while current > 0, !knownPIDs.contains(current), chain.count < ProcessTable.maximumAncestry,
              let snapshot = ProcFS.snapshot(pid: current) {
            chain.append(snapshot)
            current = snapshot.ppid
        }
        if chain.isEmpty, pid > 0, !knownPIDs.contains(pid), let nameIfGone {
            deliver?(Event(type: .procinfo, time: clock.now(), pid: Int64(pid), ppid: 0, containerID: ContainerRecord.hostID,
                           process: ProcessFacts(name: nameIfGone)))
            return
        }
        for snapshot in chain.reversed() { deliverSnapshot(snapshot) }
    }

    private func deliverSnapshot(_ snapshot: ProcessSnapshot) {
        knownPIDs.insert(snapshot.pid)
        let containerID = ContainerCgroup.containerID(path: snapshot.cgroupPath) ?? ContainerRecord.hostID
        announce(container: containerID)
        let facts = ProcessFacts(name: snapshot.name, exePath: snapshot.exePath, args: snapshot.args,
                                 uid: snapshot.uid, gid: snapshot.gid, euid: snapshot.euid, vpid: snapshot.vpid)
        deliver?(Event(type: .procinfo, time: clock.now(), pid: Int64(snapshot.pid), ppid: Int64(snapshot.ppid),
                       containerID: containerID, process: facts))
    }
}

/// What the sensor counted, per record kind, against what the kernel says it produced.
struct RecordCounters {
    var receivedByKind = [UInt64](repeating: 0, count: Int(SENTINEL_RECORD_KIND_COUNT.rawValue))
    var kernel: [sentinel_counter] = []
    var delivered: UInt64 = 0
    var malformed: UInt64 = 0
    /// Received, and not made events: their cgroup is the host's.
    var systemCallsPassedOver: UInt64 = 0

    /// `count` records of `kind` arrived (system calls are counted one by one, not by batch).
    mutating func received(kind: UInt32, count: UInt64 = 1) {
        if kind < receivedByKind.count { receivedByKind[Int(kind)] += count }
    }

    var kernelDropped: UInt64 { kernel.reduce(0) { $0 + $1.dropped } }

    var statistics: SensorStatistics {
        SensorStatistics(delivered: delivered, dropped: kernelDropped + malformed)
    }

    static let kindNames = ["", "exec", "fork", "exit", "open", "connect", "accept", "listen", "tcp_close", "syscalls", "segment",
                            "bosc_unknown_bag", "bosc_epoch"]

    /// "exec 120/120/0 fork ..." as produced/received/dropped, for the kinds that saw any.
    var summary: String {
        var parts: [String] = []
        for kind in 1..<Self.kindNames.count {
            let produced = kind < kernel.count ? kernel[kind].produced : 0
            let dropped = kind < kernel.count ? kernel[kind].dropped : 0
            guard produced > 0 || receivedByKind[kind] > 0 else { continue }
            parts.append("\(Self.kindNames[kind]) \(produced)/\(receivedByKind[kind])/\(dropped)")
        }
        let perKind = parts.isEmpty ? "no records" : parts.joined(separator: ", ")
        let passedOver = systemCallsPassedOver > 0 ? ", \(systemCallsPassedOver) system calls passed over (the host's)" : ""
        return "records produced/received/dropped: \(perKind); \(delivered) events delivered\(passedOver), \(malformed) malformed"
    }
}
