import Engine

/// Processes the probes did not see begin, read from /proc as `procinfo` events so that the
/// process table knows their names and ancestry: every process at start, and later the unknown
/// ancestors an event names (a container's shim on the host, whose events the kernel keeps quiet).
struct ProcessAnnouncer {
    private let clock = BootClock()
    private var known: Set<Int32> = []

    /// A process the probes saw begin (fork or exec).
    mutating func began(_ pid: Int32) { known.insert(pid) }

    mutating func exited(_ pid: Int32) { known.remove(pid) }

    /// Every process in /proc, parents before children, so that each record finds its parent's.
    mutating func announceAll(_ deliver: (Event) -> Void) {
        var snapshots: [Int32: ProcessSnapshot] = [:]
        for pid in ProcFS.allPIDs() {
            if let snapshot = ProcFS.snapshot(pid: pid) { snapshots[pid] = snapshot }
        }
        var emitted: Set<Int32> = []
        func emit(_ snapshot: ProcessSnapshot, depth: Int) {
            guard !emitted.contains(snapshot.pid) else { return }
            emitted.insert(snapshot.pid)
            if depth < ProcessTable.maximumAncestry, let parent = snapshots[snapshot.ppid] { emit(parent, depth: depth + 1) }
            announce(snapshot, deliver)
        }
        for pid in snapshots.keys.sorted() { emit(snapshots[pid]!, depth: 0) }
    }

    /// Announces `pid` and its unknown ancestors from /proc, oldest first. A process already gone
    /// from /proc (runc's, a health check's parent) is announced with only `nameIfGone`, the name
    /// the kernel gave it at its child's fork or exec, on the host: the container runtime's
    /// processes are the ones that come and go unseen.
    mutating func announceAncestors(of pid: Int32, nameIfGone: String? = nil, _ deliver: (Event) -> Void) {
        var chain: [ProcessSnapshot] = []
        var current = pid
        while current > 0, !known.contains(current), chain.count < ProcessTable.maximumAncestry,
              let snapshot = ProcFS.snapshot(pid: current) {
            chain.append(snapshot)
            current = snapshot.ppid
        }
        if chain.isEmpty, pid > 0, !known.contains(pid), let nameIfGone {
            deliver(Event(type: .procinfo, time: clock.now(), pid: Int64(pid), ppid: 0, containerID: ContainerRecord.hostID,
                          process: ProcessFacts(name: nameIfGone)))
            return
        }
        for snapshot in chain.reversed() { announce(snapshot, deliver) }
    }

    private mutating func announce(_ snapshot: ProcessSnapshot, _ deliver: (Event) -> Void) {
        known.insert(snapshot.pid)
        let containerID = ContainerCgroup.containerID(path: snapshot.cgroupPath) ?? ContainerRecord.hostID
        let facts = ProcessFacts(name: snapshot.name, exePath: snapshot.exePath, args: snapshot.args,
                                 uid: snapshot.uid, gid: snapshot.gid, euid: snapshot.euid, vpid: snapshot.vpid)
        deliver(Event(type: .procinfo, time: clock.now(), pid: Int64(snapshot.pid), ppid: Int64(snapshot.ppid),
                      containerID: containerID, process: facts))
    }
}
