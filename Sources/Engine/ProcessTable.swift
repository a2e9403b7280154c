/// What sentinel knows of one process (a thread group), built from its exec and fork events.
public final class ProcessRecord {
    public let pid: Int64
    public var ppid: Int64
    /// The process that forked this one. Kept after the parent exits, so that a process keeps the
    /// ancestry it was born with (the kernel would reparent it to init and lose the story).
    public private(set) var parent: ProcessRecord?
    /// How many ancestors hang above this record; bounds the chain (see `ProcessTable.maximumAncestry`).
    fileprivate var depth: Int
    public var name: String
    public var exePath: String
    public var args: [String] { didSet { cachedCommandLine = nil; cachedArguments = nil } }
    public var cwd: String
    public var uid: Int64
    public var gid: Int64
    public var euid: Int64
    public var userName: String?
    public var groupName: String?
    public var tty: Int64
    /// The pid in the process's own pid namespace; nil when the source did not say.
    public var vpid: Int64?
    /// Whether the sensor cut argv at its bound.
    public var argsTruncated = false
    /// Whether the executable is a memfd (an exec of code that never was a file).
    public var isExeFromMemfd = false
    /// Whether the executable lies in the container's writable (overlay upper) layer.
    public var isExeUpperLayer = false
    /// The executable's inode number; nil when the source did not say.
    public var exeInode: Int64?
    /// The environment at exec, NAME=VALUE each; empty when it was not read (no rule reads proc.env).
    public var environment: [String] = []
    /// The executable's inode's ctime and mtime, nanoseconds since the epoch; nil when not known.
    public var exeChangeTime: UInt64?
    public var exeModifyTime: UInt64?
    /// The audit login uid, -1 when unset; nil when the source did not say.
    public var loginUID: Int64?
    public var capEffective: UInt64?
    public var capPermitted: UInt64?
    /// The session and process group in the process's pid namespace, as at its last exec.
    public var sid: Int64?
    public var vpgid: Int64?
    public var container: ContainerRecord
    /// Whether the executable was opened for writing in the same container before it was run.
    public var isExeWritten = false
    fileprivate var lastSeen: UInt64
    /// When sentinel first saw it: its fork, or its exec or /proc entry for one born before.
    public let startTime: UInt64
    /// Set when the process exits; it stays in the table for `ProcessTable.exitGrace`.
    fileprivate var exitTime: UInt64?

    private var cachedCommandLine: String?
    private var cachedArguments: String?

    init(pid: Int64, ppid: Int64, parent: ProcessRecord?, container: ContainerRecord, time: UInt64) {
        self.pid = pid
        self.ppid = ppid
        self.parent = parent
        self.depth = (parent?.depth ?? 0) + 1
        name = parent?.name ?? ""
        exePath = parent?.exePath ?? ""
        args = parent?.args ?? []
        cwd = parent?.cwd ?? ""
        uid = parent?.uid ?? -1
        gid = parent?.gid ?? -1
        euid = parent?.euid ?? -1
        userName = parent?.userName
        groupName = parent?.groupName
        tty = parent?.tty ?? 0
        loginUID = parent?.loginUID
        capEffective = parent?.capEffective
        capPermitted = parent?.capPermitted
        sid = parent?.sid
        vpgid = parent?.vpgid
        // A forked child runs its parent's executable until it execs.
        isExeFromMemfd = parent?.isExeFromMemfd ?? false
        isExeUpperLayer = parent?.isExeUpperLayer ?? false
        exeInode = parent?.exeInode
        exeChangeTime = parent?.exeChangeTime
        environment = parent?.environment ?? []
        exeModifyTime = parent?.exeModifyTime
        isExeWritten = parent?.isExeWritten ?? false
        self.container = container
        lastSeen = time
        startTime = time
    }

    /// The arguments after argv[0], joined by spaces, as Falco's `proc.args`.
    public var arguments: String {
        if let cachedArguments { return cachedArguments }
        let joined = args.dropFirst().joined(separator: " ")
        cachedArguments = joined
        return joined
    }

    /// `name arg1 arg2...`, as Falco's `proc.cmdline`.
    public var commandLine: String {
        if let cachedCommandLine { return cachedCommandLine }
        let line = args.count > 1 ? name + " " + arguments : name
        cachedCommandLine = line
        return line
    }

    /// The ancestor `generations` above this process: 1 is the parent.
    public func ancestor(_ generations: Int) -> ProcessRecord? {
        var current: ProcessRecord? = self
        for _ in 0..<generations { current = current?.parent }
        return current
    }

    fileprivate func cutAncestry(keeping generations: Int) {
        ancestor(generations)?.parent = nil
    }

    /// Gives a record made before its parent was known the parent learnt since, unless that would
    /// make a loop (a stale record of a reused pid). Its children's depths stay as they were:
    /// they only bound the chain, which `ProcessTable.maximumAncestry` cuts anyway.
    fileprivate func adopt(parent candidate: ProcessRecord) {
        var current: ProcessRecord? = candidate
        for _ in 0..<ProcessTable.maximumAncestry {
            guard let record = current else { break }
            if record === self { return }
            current = record.parent
        }
        parent = candidate
        depth = min(candidate.depth + 1, ProcessTable.maximumAncestry)
    }
}

/// The live processes by pid: updated by exec, clone and exit events, and bounded. Processes that
/// began before sentinel enter it when first seen (or, live, from /proc at start).
public final class ProcessTable {
    /// Longest ancestry kept; deeper chains (a fork loop that never ends) are cut here.
    public static let maximumAncestry = 64
    /// How long (in event time) an exited process stays findable: some of its events reach
    /// sentinel after its exit (system calls sent in a later batch, a TCP close the kernel handles
    /// once the owner is gone). A new process with its pid replaces it at once.
    public static let exitGrace: UInt64 = 5_000_000_000

    public let capacity: Int
    public private(set) var evictedCount: UInt64 = 0
    private var byPID: [Int64: ProcessRecord] = [:]
    /// Exited processes, oldest exit first, from `exitsStart` on.
    private var exits: [(time: UInt64, record: ProcessRecord)] = []
    private var exitsStart = 0

    public init(capacity: Int = 131_072) {
        self.capacity = capacity
    }

    public var count: Int { byPID.count }

    public subscript(pid: Int64) -> ProcessRecord? { byPID[pid] }

    /// Brings the table up to date with `event` and returns the record of the event's process.
    func apply(_ event: Event, container: ContainerRecord?) -> ProcessRecord {
        let record: ProcessRecord
        switch event.type {
        case .clone:
            if let existing = byPID[event.pid], existing.exitTime == nil {
                // A new thread of a known process; threads share the process record.
                record = existing
            } else {
                let ppid = event.ppid ?? 0
                let parent = byPID[ppid]
                record = insert(pid: event.pid, ppid: ppid, parent: parent, container: container ?? parent?.container, time: event.time)
            }
        case .execve, .execveat:
            if let existing = byPID[event.pid], existing.exitTime == nil {
                record = existing
                if let ppid = event.ppid, ppid != existing.ppid { existing.ppid = ppid }
                // A record made before its exec (from /proc, or from an event the runtime made in
                // the container first) may not have found its parent then: runc's, already gone.
                if existing.parent == nil, let parent = byPID[existing.ppid] { existing.adopt(parent: parent) }
            } else {
                let ppid = event.ppid ?? 0
                let parent = byPID[ppid]
                record = insert(pid: event.pid, ppid: ppid, parent: parent, container: container ?? parent?.container, time: event.time)
            }
            // An exec replaces the image: what the event does not say is unknown, not inherited.
            record.exePath = event.process.exePath ?? ""
            record.isExeFromMemfd = event.process.exeFromMemfd ?? false
            record.isExeUpperLayer = event.process.exeUpperLayer ?? false
            record.exeInode = event.process.exeInode
            record.exeChangeTime = event.process.exeChangeTime
            record.environment = event.process.environment ?? []
            record.exeModifyTime = event.process.exeModifyTime
            record.args = event.process.args ?? []
            record.name = event.process.name ?? baseName(record.exePath.isEmpty ? record.args.first ?? "" : record.exePath)
        default:
            if let existing = byPID[event.pid] {
                record = existing
            } else {
                let ppid = event.ppid ?? 0
                record = insert(pid: event.pid, ppid: ppid, parent: byPID[ppid], container: container, time: event.time)
            }
        }
        apply(event.process, to: record)
        if let container { record.container = container }
        record.lastSeen = event.time
        return record
    }

    /// A setuid's or capset's outcome: the process's credentials from now on.
    func change(_ record: ProcessRecord, to credentials: ProcessFacts.Credentials) {
        if record.uid != credentials.uid { record.userName = nil }
        if let gid = credentials.gid, gid != record.gid { record.groupName = nil }
        record.uid = credentials.uid
        record.euid = credentials.euid ?? credentials.uid
        if let gid = credentials.gid { record.gid = gid }
        if let bits = credentials.capEffective { record.capEffective = bits }
        if let bits = credentials.capPermitted { record.capPermitted = bits }
    }

    private func apply(_ facts: ProcessFacts, to record: ProcessRecord) {
        if let name = facts.name { record.name = name }
        if record.name.isEmpty, let comm = facts.comm { record.name = comm }
        if let exePath = facts.exePath { record.exePath = exePath }
        if let args = facts.args { record.args = args }
        if let cwd = facts.cwd { record.cwd = cwd }
        if let uid = facts.uid { record.uid = uid }
        if let gid = facts.gid { record.gid = gid }
        // A source that states the uid but not the euid means they are equal; keeping an inherited
        // euid instead would make every unprivileged child of a root parent look setuid.
        if let euid = facts.euid ?? facts.uid { record.euid = euid }
        if let userName = facts.userName { record.userName = userName }
        if let groupName = facts.groupName { record.groupName = groupName }
        if let tty = facts.tty { record.tty = tty }
        if let vpid = facts.vpid { record.vpid = vpid }
        if let loginUID = facts.loginUID { record.loginUID = loginUID }
        if let capEffective = facts.capEffective { record.capEffective = capEffective }
        if let capPermitted = facts.capPermitted { record.capPermitted = capPermitted }
        if let sid = facts.sid { record.sid = sid }
        if let vpgid = facts.vpgid { record.vpgid = vpgid }
        if let argsTruncated = facts.argsTruncated { record.argsTruncated = argsTruncated }
    }

    /// The process `pid` exited at `time`: it leaves the table after `exitGrace`.
    func exited(pid: Int64, at time: UInt64) {
        guard let record = byPID[pid], record.exitTime == nil else { return }
        record.exitTime = time
        exits.append((time, record))
    }

    /// Removes the processes that exited `exitGrace` before `now`.
    func forgetExited(before now: UInt64) {
        while exitsStart < exits.count, exits[exitsStart].time &+ Self.exitGrace <= now {
            let record = exits[exitsStart].record
            if byPID[record.pid] === record { byPID.removeValue(forKey: record.pid) }
            exitsStart += 1
        }
        if exitsStart > 1024 && exitsStart * 2 > exits.count {
            exits.removeFirst(exitsStart)
            exitsStart = 0
        }
    }

    private func insert(pid: Int64, ppid: Int64, parent: ProcessRecord?, container: ContainerRecord?, time: UInt64) -> ProcessRecord {
        if byPID.count >= capacity { evictOldest() }
        let record = ProcessRecord(pid: pid, ppid: ppid, parent: parent, container: container ?? .host, time: time)
        if record.depth > Self.maximumAncestry {
            record.cutAncestry(keeping: Self.maximumAncestry)
            record.depth = Self.maximumAncestry
        }
        byPID[pid] = record
        return record
    }

    /// Frees a tenth of the table, least recently seen first: missed exit events must not let the
    /// table grow without bound.
    private func evictOldest() {
        let victims = byPID.values.sorted { $0.lastSeen < $1.lastSeen }.prefix(max(capacity / 10, 1))
        for victim in victims { byPID.removeValue(forKey: victim.pid) }
        evictedCount += UInt64(victims.count)
    }
}

func baseName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(path[path.utf8.index(after: slash)...])
}
