/// The kinds of event, named as Falco names them so that Falco users read rules at sight. A type
/// is its place in `allCases`, by which rules are indexed: sentinel's own types first, then one
/// for each system call of `CapturedCall.all`.
public struct EventType: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    public let rawValue: UInt8

    private init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let execve = EventType(0)
    /// The new child of a fork/clone: `pid` is the child, `ppid` its parent (Falco's child-side clone).
    public static let clone = EventType(1)
    public static let procexit = EventType(2)
    public static let connect = EventType(3)
    public static let accept = EventType(4)
    public static let listen = EventType(5)
    public static let close = EventType(6)
    public static let open = EventType(7)
    public static let openat = EventType(8)
    public static let openat2 = EventType(9)
    /// One system call, for the anomaly detector; signature rules see these only when they ask by name.
    public static let syscall = EventType(10)
    /// Container metadata (name, image) from the container runtime; carries no process.
    public static let container = EventType(11)
    /// A process that was already running: read from /proc when sentinel starts, or when an event
    /// names a process whose birth the sensor did not see (a container's shim on the host).
    public static let procinfo = EventType(12)
    /// One TCP segment a container's socket sent or received; rules see these only when they ask
    /// by name. It carries no process: the kernel's network path handles packets outside it.
    public static let segment = EventType(13)
    /// A BoSC epoch judged in the kernel: its unknown bags, for the `bosc` rule that asked for it.
    public static let boscepoch = EventType(14)
    /// Application messages read from captured traffic (the pcap sensor): an HTTP request, an
    /// HTTP response, a DNS query or answer, a TLS ClientHello, a MySQL query. They belong to the
    /// process that holds the connection when its connect or accept was seen.
    public static let http = EventType(15)
    public static let httpresponse = EventType(16)
    public static let dns = EventType(17)
    public static let tls = EventType(18)
    public static let mysql = EventType(19)
    /// An exec of a descriptor (execveat with AT_EMPTY_PATH, or a path below one: fexecve, a
    /// memfd's code). An execveat given a path is an execve, and is reported as one. Rules on
    /// processes started name both.
    public static let execveat = EventType(20)

    /// sentinel's own types' names, in rawValue order.
    private static let ownNames = ["execve", "clone", "procexit", "connect", "accept", "listen", "close", "open", "openat", "openat2",
                                   "syscall", "container", "procinfo", "segment", "boscepoch", "http", "httpresponse", "dns", "tls", "mysql",
                                   "execveat"]
    /// Every type's name, in rawValue order.
    private static let names = ownNames + CapturedCall.names

    /// The type of the captured call at `index` of `CapturedCall.all`.
    init(capturedCall index: Int) { self.init(UInt8(Self.ownNames.count + index)) }

    /// The first captured call's type: the calls' types follow one another from it.
    static let firstCapturedCall = EventType(UInt8(ownNames.count))
    private static let byName = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, EventType(UInt8($0))) })
        .merging(aliases.map { ($0.key, EventType(UInt8(names.firstIndex(of: $0.value)!))) }) { own, _ in own }

    /// Falco's names for what one of sentinel's types covers: accept4 is an accept here (the
    /// probe reads both calls), so `evt.type in (accept, accept4)` means what a Falco rule means.
    private static let aliases = ["accept4": "accept"]

    public static let allCases: [EventType] = names.indices.map { EventType(UInt8($0)) }

    public var name: String { Self.names[Int(rawValue)] }
    public var description: String { name }

    /// "execve, clone, ...": every type's name, for help and documentation.
    public static var allNames: String { names.joined(separator: ", ") }

    public init?(name: String) {
        guard let type = Self.byName[name] else { return nil }
        self = type
    }

    public static let opens: Set<EventType> = [.open, .openat, .openat2]
    public static let sockets: Set<EventType> = [.connect, .accept, .listen, .close]
    public static let messages: Set<EventType> = [.http, .httpresponse, .dns, .tls, .mysql]
    /// The system calls captured with their arguments.
    public static let capturedCalls = Set(CapturedCall.all.map(\.eventType))
    /// The types whose events come from a process: all but container metadata, segments, epoch
    /// verdicts and messages (captured on the wire, they take the connection's owner, if known).
    public static let withProcess: Set<EventType> = Set(allCases).subtracting([.container, .segment, .boscepoch]).subtracting(messages)
    /// The types whose events may have a process, and so `proc.*` fields.
    public static let mayHaveProcess = withProcess.union(messages)
    /// Reaching only the rules that name them: millions of system calls a second, hundreds of
    /// thousands of segments; messages, which need packet capture.
    public static let optIn: Set<EventType> = messages.union(capturedCalls).union([.syscall, .segment, .boscepoch])

    public var hasProcess: Bool { Self.hasProcessByType[Int(rawValue)] }
    /// execve or execveat: a new program image.
    public var isExec: Bool { self == .execve || self == .execveat }
    /// `withProcess` by raw value: asked once per event, where hashing a set would show.
    private static let hasProcessByType = allCases.map { withProcess.contains($0) }
}

/// One thing that happened, from any source, normalized. Only the event's own data is here;
/// what is derived (parent name, ancestry, command line, container name) comes from the tables.
public struct Event: Sendable {
    public var type: EventType
    /// Nanoseconds since the Unix epoch.
    public var time: UInt64
    public var pid: Int64
    public var tid: Int64
    public var ppid: Int64?
    /// The full container id, or "host"; nil when the source does not know (inherited then).
    public var containerID: String?
    /// What the event says of its process: set by exec, and by any source that reads it.
    public var process: ProcessFacts
    public var payload: Payload

    public init(type: EventType, time: UInt64, pid: Int64, tid: Int64? = nil, ppid: Int64? = nil,
                containerID: String? = nil, process: ProcessFacts = ProcessFacts(), payload: Payload = .none) {
        self.type = type
        self.time = time
        self.pid = pid
        self.tid = tid ?? pid
        self.ppid = ppid
        self.containerID = containerID
        self.process = process
        self.payload = payload
    }

    /// The part of an event that only some types carry.
    public enum Payload: Sendable {
        case none
        case exit(status: Int64)
        case socket(Connection)
        /// `path` is absolute where the directory a relative path starts from was known; `given`
        /// is the path as the process gave it, when that differs; `mode` is what an O_CREAT or
        /// O_TMPFILE open gives the file it creates.
        case open(path: String, flags: OpenFlags, result: Int64, given: String? = nil, mode: UInt32 = 0)
        case syscall(number: Int64)
        indirect case container(ContainerFacts)
        case boscEpoch(BoSCEpoch)
        /// The connection (its client is `source`; `direction` is outbound when the container is
        /// the client) and what was said in it. Boxed: most events are far smaller.
        indirect case message(Connection, ApplicationMessage)
        /// A captured system call (its event type says which): what it was given and returned.
        indirect case call(CallArguments)
    }
}

/// What a captured system call was given and returned; `CapturedCall` says what each argument is.
public struct CallArguments: Sendable, Equatable {
    /// Each argument's register value, in the call's order.
    public var values: [UInt64]
    /// The text of each string argument as the process gave it, in the same places (nil
    /// elsewhere, and where the kernel could not read it).
    public var texts: [String?]
    /// Each path argument made absolute: joined to the directory it was relative to (the working
    /// directory, or a descriptor's), "." and ".." taken out; nil where that directory is unknown.
    public var paths: [String?]
    public var result: Int64
    /// Whether a text was cut at the sensor's bound.
    public var truncated: Bool
    /// The open file behind the call's descriptor argument, for a call that has one.
    public var descriptor: Descriptor?
    /// The socket address the call was given or filled in (sendto's destination, recvfrom's source).
    public var address: Endpoint?

    public init(values: [UInt64], texts: [String?], paths: [String?]? = nil, result: Int64, truncated: Bool = false, descriptor: Descriptor? = nil) {
        self.values = values
        self.texts = texts
        self.paths = paths ?? texts.map { text in text.flatMap { $0.hasPrefix("/") ? normalizedPath($0) : nil } }
        self.result = result
        self.truncated = truncated
        self.descriptor = descriptor
    }
}

/// `path` joined to `directory` when it is relative, with "." and ".." taken out as the kernel
/// walks them ("/tmp" + "../etc/shadow" is /etc/shadow); a ".." above the root stays at the root.
public func absolutePath(_ path: String, in directory: String) -> String {
    normalizedPath(path.hasPrefix("/") ? path : directory + "/" + path)
}

func normalizedPath(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        switch part {
        case ".": continue
        case "..": if !parts.isEmpty { parts.removeLast() }
        default: parts.append(part)
        }
    }
    return "/" + parts.joined(separator: "/")
}

/// Process attributes an event may carry. Any left nil is taken from the process table.
public struct ProcessFacts: Sendable {
    public var name: String?
    public var exePath: String?
    public var args: [String]?
    public var cwd: String?
    public var uid: Int64?
    public var gid: Int64?
    public var euid: Int64?
    public var userName: String?
    public var tty: Int64?
    /// The pid inside the process's own pid namespace: 1 for a container's entrypoint.
    public var vpid: Int64?
    /// Whether `args` was cut at the sensor's bound (the eBPF sensor keeps 1024 bytes of argv).
    public var argsTruncated: Bool?

    /// The credentials a call left its caller with (setuid, capset): the event is judged with the
    /// ones it was made with, and these hold from the next event on.
    /// (A recording may give the uid alone: what it leaves out stays as it was.)
    public struct Credentials: Sendable, Equatable {
        public var uid: Int64
        public var euid: Int64?
        public var gid: Int64?
        public var capEffective: UInt64?
        public var capPermitted: UInt64?

        public init(uid: Int64, euid: Int64? = nil, gid: Int64? = nil, capEffective: UInt64? = nil, capPermitted: UInt64? = nil) {
            (self.uid, self.euid, self.gid, self.capEffective, self.capPermitted) = (uid, euid, gid, capEffective, capPermitted)
        }
    }

    /// Facts that only an exec carries (or, `comm` and the credentials after, a captured call),
    /// kept in a box of their own: every event holds a ProcessFacts, most have none of these, and
    /// the engine moves events by value.
    private struct ExecDetails {
        var exeFromMemfd: Bool?
        var exeUpperLayer: Bool?
        var exeInode: Int64?
        var exeChangeTime: UInt64?
        var exeModifyTime: UInt64?
        var loginUID: Int64?
        var capEffective: UInt64?
        var capPermitted: UInt64?
        var sid: Int64?
        var vpgid: Int64?
        var comm: String?
        var credentialsAfter: Credentials?
        var environment: [String]?
        var groupName: String?
    }

    /// Copied on write (`set(_:_:)`), so never shared while mutable.
    private final class Box: @unchecked Sendable {
        var details: ExecDetails
        init(_ details: ExecDetails) { self.details = details }
    }

    private var box: Box?

    /// Writes one detail, copying a shared box first; an unknown detail makes no box.
    private mutating func set<Value>(_ detail: WritableKeyPath<ExecDetails, Value?>, _ value: Value?) {
        if box == nil {
            guard value != nil else { return }
            box = Box(ExecDetails())
        } else if !isKnownUniquelyReferenced(&box!) {
            box = Box(box!.details)
        }
        box!.details[keyPath: detail] = value
    }

    /// Whether the executable is a memfd: code that never was a file (`proc.is_exe_from_memfd`).
    public var exeFromMemfd: Bool? { get { box?.details.exeFromMemfd } set { set(\.exeFromMemfd, newValue) } }
    /// Whether the executable lies in the container's writable (overlay upper) layer.
    public var exeUpperLayer: Bool? { get { box?.details.exeUpperLayer } set { set(\.exeUpperLayer, newValue) } }
    /// The executable's inode number.
    public var exeInode: Int64? { get { box?.details.exeInode } set { set(\.exeInode, newValue) } }
    /// The executable's inode's last change of status (ctime) and of content (mtime), in
    /// nanoseconds since the epoch.
    public var exeChangeTime: UInt64? { get { box?.details.exeChangeTime } set { set(\.exeChangeTime, newValue) } }
    public var exeModifyTime: UInt64? { get { box?.details.exeModifyTime } set { set(\.exeModifyTime, newValue) } }
    /// The audit login uid: who logged in, whatever uid followed (-1: unset, as for services).
    public var loginUID: Int64? { get { box?.details.loginUID } set { set(\.loginUID, newValue) } }
    /// The capabilities, a bit per CAP_ number.
    public var capEffective: UInt64? { get { box?.details.capEffective } set { set(\.capEffective, newValue) } }
    public var capPermitted: UInt64? { get { box?.details.capPermitted } set { set(\.capPermitted, newValue) } }
    /// The session and the process group, numbered in the process's own pid namespace.
    public var sid: Int64? { get { box?.details.sid } set { set(\.sid, newValue) } }
    public var vpgid: Int64? { get { box?.details.vpgid } set { set(\.vpgid, newValue) } }
    /// The kernel's name for the process at this event: names a process only while the table has
    /// none for it (one whose exec was not seen), never replacing the name its exec gave.
    public var comm: String? { get { box?.details.comm } set { set(\.comm, newValue) } }
    /// The group's name, where the source knows it (the container's /etc/group).
    public var groupName: String? { get { box?.details.groupName } set { set(\.groupName, newValue) } }
    /// The environment at exec, NAME=VALUE each, when a rule reads it.
    public var environment: [String]? { get { box?.details.environment } set { set(\.environment, newValue) } }
    /// What the call left the process's credentials at, applied once the event is judged.
    public var credentialsAfter: Credentials? { get { box?.details.credentialsAfter } set { set(\.credentialsAfter, newValue) } }

    public init(name: String? = nil, exePath: String? = nil, args: [String]? = nil, cwd: String? = nil,
                uid: Int64? = nil, gid: Int64? = nil, euid: Int64? = nil, userName: String? = nil, tty: Int64? = nil,
                vpid: Int64? = nil, exeFromMemfd: Bool? = nil, loginUID: Int64? = nil, capEffective: UInt64? = nil, capPermitted: UInt64? = nil,
                argsTruncated: Bool? = nil) {
        self.name = name
        self.exePath = exePath
        self.args = args
        self.cwd = cwd
        self.uid = uid
        self.gid = gid
        self.euid = euid
        self.userName = userName
        self.tty = tty
        self.vpid = vpid
        self.argsTruncated = argsTruncated
        self.exeFromMemfd = exeFromMemfd
        self.loginUID = loginUID
        self.capEffective = capEffective
        self.capPermitted = capPermitted
    }
}

/// A container's epoch of system calls as the kernel judged it against a BoSC profile, or as it
/// counted it into a training profile (`training`).
public struct BoSCEpoch: Sendable, Equatable {
    /// A training epoch's figures: its bags' counts' sum of squares, the previous epoch's, and
    /// their dot product (their cosine similarity tells when training is stable).
    public struct TrainingFigures: Sendable, Equatable {
        public var normSquared: UInt64
        public var previousNormSquared: UInt64
        public var dot: UInt64
        /// New bags the kernel had no room for, so far in the training.
        public var droppedBags: UInt64

        public init(normSquared: UInt64, previousNormSquared: UInt64, dot: UInt64, droppedBags: UInt64) {
            self.normSquared = normSquared
            self.previousNormSquared = previousNormSquared
            self.dot = dot
            self.droppedBags = droppedBags
        }
    }

    /// 1 for the container's first epoch.
    public var epoch: Int64
    /// Calls counted in the epoch: all of it when complete, up to the verdict otherwise.
    public var calls: Int64
    public var mismatches: Int64
    /// Of those, bags holding a call training never saw.
    public var unseenMismatches: Int64 = 0
    /// False for the early verdict, sent the moment the mismatches passed the threshold.
    public var complete: Bool
    /// The first unknown bags of the epoch, each its call numbers, sorted.
    public var unknownBags: [[UInt16]]
    /// Set for a training epoch (no bags are judged in one).
    public var training: TrainingFigures?

    public init(epoch: Int64, calls: Int64, mismatches: Int64, complete: Bool, unknownBags: [[UInt16]], training: TrainingFigures? = nil) {
        self.epoch = epoch
        self.calls = calls
        self.mismatches = mismatches
        self.complete = complete
        self.unknownBags = unknownBags
        self.training = training
    }
}

/// Metadata of a container as the runtime reports it.
public struct ContainerFacts: Sendable {
    public var name: String
    public var image: String
    /// The image's id as the runtime names it ("sha256:" and the digest of its configuration):
    /// what the image is, where `image` is what it was called. Empty when the runtime did not say.
    public var imageID: String
    public var labels: [String: String]
    /// Started with --privileged: every capability, every device.
    public var privileged: Bool
    /// When it started, in nanoseconds since the epoch; nil when the runtime did not say.
    public var startTime: UInt64?
    public var mounts: [Mount]
    /// The container is gone (its cgroups are): the engine forgets it. Its other facts are empty.
    public var removed = false

    /// A file system mounted into the container, as the runtime reports it.
    public struct Mount: Sendable, Equatable {
        public var source: String
        public var destination: String
        /// The runtime's mode text ("ro", "z"...), empty when none.
        public var mode: String
        public var isWritable: Bool
        public var propagation: String

        public init(source: String, destination: String, mode: String = "", isWritable: Bool = true, propagation: String = "") {
            self.source = source
            self.destination = destination
            self.mode = mode
            self.isWritable = isWritable
            self.propagation = propagation
        }

        /// As Falco's container.mounts writes one: source:dest:mode:rdwr:propagation.
        public var text: String { "\(source):\(destination):\(mode):\(isWritable):\(propagation)" }

        /// The inverse of `text`; nil when it has not five parts.
        public init?(text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, parts[3] == "true" || parts[3] == "false" else { return nil }
            self.init(source: parts[0], destination: parts[1], mode: parts[2], isWritable: parts[3] == "true", propagation: parts[4])
        }
    }

    public init(name: String, image: String, imageID: String = "", labels: [String: String] = [:], privileged: Bool = false,
                startTime: UInt64? = nil, mounts: [Mount] = [], removed: Bool = false) {
        self.removed = removed
        self.name = name
        self.image = image
        self.imageID = imageID
        self.labels = labels
        self.privileged = privileged
        self.startTime = startTime
        self.mounts = mounts
    }
}

/// A TCP or UDP conversation. `source` is the side that initiated it (the client), `destination`
/// the side that accepted it (the server); for `listen`, the destination is the listening address.
public struct Connection: Sendable {
    public enum Direction: String, Sendable {
        /// This process initiated it: connect.
        case outbound
        /// This process accepted or listens: accept, listen.
        case inbound
    }

    public var l4proto: String
    public var direction: Direction
    public var source: Endpoint?
    public var destination: Endpoint
    public var result: Int64
    /// Counters known when the connection closes; nil before.
    public var traffic: Traffic?
    /// For segment events: the segment, whose sender is `source`; `direction` is outbound when
    /// the container sent it.
    public var segment: TCPSegment?
    /// The full id of the container at the other end, when sentinel saw the connection there too:
    /// a message read on both containers' veths is one event, attributed to both ends.
    public var peerContainerID: String?

    public init(l4proto: String = "tcp", direction: Direction, source: Endpoint?, destination: Endpoint, result: Int64 = 0,
                traffic: Traffic? = nil, segment: TCPSegment? = nil, peerContainerID: String? = nil) {
        self.l4proto = l4proto
        self.direction = direction
        self.source = source
        self.destination = destination
        self.result = result
        self.traffic = traffic
        self.segment = segment
        self.peerContainerID = peerContainerID
    }

    /// The same connection seen from its other end.
    public var reversed: Connection {
        var other = self
        other.direction = direction == .outbound ? .inbound : .outbound
        return other
    }

    public var local: Endpoint? { direction == .outbound ? source : destination }
    public var remote: Endpoint? { direction == .outbound ? destination : source }
}

public struct Endpoint: Sendable, Hashable {
    public var address: IPAddress
    public var port: UInt16

    /// "1.2.3.4:80", "[::1]:80".
    public var text: String { address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)" }

    /// The inverse of `text`.
    public init?(text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard let address = IPAddress(String(host)) else { return nil }
        self.init(address: address, port: port)
    }

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
}

/// One TCP segment's header, as far as rules read it.
public struct TCPSegment: Sendable, Equatable {
    public var flags: TCPFlags
    public var sequence: UInt32
    public var acknowledgement: UInt32
    /// Bytes after the TCP header.
    public var payloadLength: UInt32

    public init(flags: TCPFlags, sequence: UInt32, acknowledgement: UInt32, payloadLength: UInt32) {
        self.flags = flags
        self.sequence = sequence
        self.acknowledgement = acknowledgement
        self.payloadLength = payloadLength
    }
}

/// The TCP header's flag byte; written as tcpdump names them, in header order: "SYN,ACK".
public struct TCPFlags: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]

    public var description: String {
        Self.names.indices.filter { rawValue & (1 << $0) != 0 }.map { Self.names[$0] }.joined(separator: ",")
    }

    /// From the description's form; nil if a name is unknown.
    public init?(text: String) {
        var raw: UInt8 = 0
        for name in text.split(separator: ",") {
            guard let bit = Self.names.firstIndex(of: String(name)) else { return nil }
            raw |= 1 << bit
        }
        rawValue = raw
    }
}

/// Bytes and segments each way, from the point of view of the process.
public struct Traffic: Sendable, Equatable {
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    public var segmentsIn: UInt64
    public var segmentsOut: UInt64

    public init(bytesIn: UInt64, bytesOut: UInt64, segmentsIn: UInt64, segmentsOut: UInt64) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.segmentsIn = segmentsIn
        self.segmentsOut = segmentsOut
    }
}

/// open(2) flags, Linux values, with the names Falco prints.
public struct OpenFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let writeOnly = OpenFlags(rawValue: 0o1)
    public static let readWrite = OpenFlags(rawValue: 0o2)
    public static let create = OpenFlags(rawValue: 0o100)
    public static let exclusive = OpenFlags(rawValue: 0o200)
    public static let truncate = OpenFlags(rawValue: 0o1000)
    public static let append = OpenFlags(rawValue: 0o2000)
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)
    public static let directory = OpenFlags(rawValue: 0o200000)
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)
    public static let path = OpenFlags(rawValue: 0o10000000)
    public static let temporaryFile = OpenFlags(rawValue: 0o20200000)

    public static let names: [(String, OpenFlags)] = [
        ("O_WRONLY", .writeOnly), ("O_RDWR", .readWrite), ("O_CREAT", .create), ("O_EXCL", .exclusive),
        ("O_TRUNC", .truncate), ("O_APPEND", .append), ("O_NONBLOCK", .nonBlocking), ("O_DIRECTORY", .directory),
        ("O_CLOEXEC", .closeOnExec), ("O_PATH", .path), ("O_TMPFILE", .temporaryFile),
    ]

    /// The open creates the file (O_CREAT, or an unnamed O_TMPFILE): its mode argument counts.
    public var createsFile: Bool { contains(.create) || contains(.temporaryFile) }

    /// Whether the open can change the file system: write access, a file created or truncated, or
    /// an unnamed temporary file. Linux truncates on O_TRUNC even with O_RDONLY (it checks write
    /// permission for it); O_APPEND without write access writes nothing; O_PATH ignores every
    /// other flag. O_TMPFILE is two bits, one of them O_DIRECTORY, so it must be tested whole:
    /// sharing a bit with it is what every directory listing does.
    public var isWrite: Bool {
        guard !contains(.path) else { return false }
        return !isDisjoint(with: [.writeOnly, .readWrite, .create, .truncate]) || contains(.temporaryFile)
    }
    /// Whether the file's contents can be read through it: O_RDONLY is 0, so any open that is neither
    /// write-only nor O_PATH.
    public var isRead: Bool { !contains(.writeOnly) && !contains(.path) }

    /// "O_RDONLY|O_CLOEXEC", as Falco renders flags.
    public var description: String {
        var parts = contains(.writeOnly) || contains(.readWrite) ? [] : ["O_RDONLY"]
        for (name, flag) in Self.names where contains(flag) { parts.append(name) }
        return parts.joined(separator: "|")
    }

    /// Parses "O_WRONLY|O_CREAT" (or a number elsewhere); nil names the unknown part.
    public init?(names text: String) {
        var flags = OpenFlags()
        for part in text.split(separator: "|") {
            let name = part.trimmingSpaces
            if name == "O_RDONLY" { continue }
            guard let flag = Self.names.first(where: { $0.0 == name })?.1 else { return nil }
            flags.insert(flag)
        }
        self = flags
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
