#if canImport(Glibc)
import Glibc
#endif
import SentinelJSON

/// The type of a field, which decides the operators and literals a condition may use with it.
public enum FieldType: String, Sendable {
    case string
    case number
    case bool
    /// An IPv4 or IPv6 address; compared with addresses and CIDR networks.
    case ip
    /// Nanoseconds since the epoch; compared as a number, written as ISO 8601.
    case time
}

/// How a field reads its value from an event, resolved once when a condition is compiled.
public enum FieldAccessor {
    case string((EventContext) -> String?)
    case number((EventContext) -> Int64?)
    case bool((EventContext) -> Bool?)
    case ip((EventContext) -> IPAddress?)
    /// A field with many values (any ancestor's name): a comparison holds if it holds for one of them.
    case anyString((EventContext, (String) -> Bool) -> Bool, render: (EventContext) -> String?)
    case anyNumber((EventContext, (Int64) -> Bool) -> Bool, render: (EventContext) -> String?)
    /// A socket's two ends, as Falco's fd.ip and fd.net compare them: `=` and `in` hold if either
    /// end matches, `!=` if neither does.
    case eitherEnd((EventContext) -> (local: IPAddress?, remote: IPAddress?))
    /// The two ends' ports, as Falco's fd.port compares them (any end; `!=`: neither).
    case eitherPort((EventContext) -> (local: Int64?, remote: Int64?))

    public func value(_ context: EventContext) -> FieldValue {
        switch self {
        case .string(let read): return read(context).map(FieldValue.string) ?? .missing
        case .number(let read): return read(context).map(FieldValue.number) ?? .missing
        case .bool(let read): return read(context).map(FieldValue.bool) ?? .missing
        case .ip(let read): return read(context).map { .string($0.description) } ?? .missing
        case .anyString(_, let render), .anyNumber(_, let render): return render(context).map(FieldValue.string) ?? .missing
        case .eitherEnd(let ends):
            let (local, remote) = ends(context)
            let text = [local, remote].compactMap { $0?.description }.joined(separator: ",")
            return text.isEmpty ? .missing : .string(text)
        case .eitherPort(let ends):
            let (local, remote) = ends(context)
            let text = [local, remote].compactMap { $0.map(String.init) }.joined(separator: ",")
            return text.isEmpty ? .missing : .string(text)
        }
    }
}

/// One field of the registry: its name, type, meaning, the event types that carry it, and how to
/// read it. Fields with an argument (`proc.aname[2]`) build their accessor from it.
public struct FieldDefinition: Sendable {
    public enum Argument: Sendable {
        case none
        /// `[N]` with N ≥ 1 may follow; without it the field means "any of them".
        case optionalIndex
        /// `[KEY]` must follow, shown as `[placeholder]` (`container.label[KEY]`).
        case key(placeholder: String)
        /// `[KEY]` may follow: without it, the whole (`proc.env`, `proc.env[NAME]`).
        case optionalKey(placeholder: String)
    }

    public let name: String
    public let type: FieldType
    public let description: String
    public let argument: Argument
    public let eventTypes: Set<EventType>
    /// Events the engine learns the value from, besides the one judged: a rule that reads the
    /// field needs them to flow even when no rule judges them (`proc.is_exe_written`: opens).
    public private(set) var learnedFrom: Set<EventType> = []
    let makeAccessor: @Sendable (Int?) -> FieldAccessor
    /// For a field with a `[KEY]`: its accessor for one key.
    private var makeKeyedAccessor: (@Sendable (String) -> FieldAccessor)?

    public init(name: String, type: FieldType, description: String, argument: Argument, eventTypes: Set<EventType>,
                makeAccessor: @escaping @Sendable (Int?) -> FieldAccessor) {
        (self.name, self.type, self.description, self.argument, self.eventTypes) = (name, type, description, argument, eventTypes)
        self.makeAccessor = makeAccessor
    }

    /// A field read by key (`container.label[app]`); with `whole`, also without one.
    init(name: String, keyed placeholder: String, description: String, eventTypes: Set<EventType>,
         whole: (@Sendable (EventContext) -> String?)? = nil, read: @escaping @Sendable (String) -> (EventContext) -> String?) {
        let argument: Argument = whole == nil ? .key(placeholder: placeholder) : .optionalKey(placeholder: placeholder)
        self.init(name: name, type: .string, description: description, argument: argument, eventTypes: eventTypes) { _ in
            .string(whole ?? { _ in nil })
        }
        makeKeyedAccessor = { key in .string(read(key)) }
    }

    func learned(from types: Set<EventType>) -> FieldDefinition {
        var field = self
        field.learnedFrom = types
        return field
    }

    public var displayName: String {
        switch argument {
        case .none: name
        case .optionalIndex: "\(name)[N]"
        case .key(let placeholder): "\(name)[\(placeholder)]"
        case .optionalKey(let placeholder): "\(name)[\(placeholder)]"
        }
    }

    public func accessor(index: Int?) -> FieldAccessor { makeAccessor(index) }

    public func accessor(key: String) -> FieldAccessor? { makeKeyedAccessor?(key) }

    public var takesKey: Bool { makeKeyedAccessor != nil }
}

extension FieldDefinition.Argument: Equatable {}

/// Every field a condition or an output template may name.
public enum FieldRegistry {
    public static let all: [FieldDefinition] = eventFields + argumentFields + rawArgumentFields + processFields + userFields + containerFields + fileFields
        + networkFields + segmentFields + systemCallFields + messageFields + peerFields

    private static let byName: [String: FieldDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    public static func field(named name: String) -> FieldDefinition? { byName[name] }

    /// Names sentinel used before it took Falco's meanings; a rule that names one is told what
    /// it became, since the same rule's fd.sip changed meaning with it.
    static let renamed = [
        "fd.dip": "fd.dip is now fd.sip (the server, as in Falco); fd.sip, which was the client, is now fd.cip",
        "fd.dport": "fd.dport is now fd.sport (the server's port, as in Falco); fd.sport, which was the client's, is now fd.cport",
    ]

    /// What follows "unknown field NAME" in a message: what the name became, or the closest name
    /// (among the fields and `others`, written with `prefix` as the user wrote them).
    public static func hint(forUnknown name: String, among others: [String] = [], prefix: String = "") -> String {
        if let note = renamed[name] { return " (\(note))" }
        guard let suggestion = closestMatch(to: name, among: names + others) else { return "" }
        return " (did you mean \"\(prefix)\(suggestion)\"?)"
    }

    public static var names: [String] { all.map(\.name) }

    /// The events the engine learns these fields' values from (`FieldDefinition.learnedFrom`).
    static func learnedFrom(_ names: Set<String>) -> Set<EventType> {
        names.reduce(into: []) { $0.formUnion(field(named: $1)?.learnedFrom ?? []) }
    }

    // MARK: - The fields, by class

    private static let everyType = Set(EventType.allCases)
    private static let processTypes = EventType.mayHaveProcess
    private static let opens = EventType.opens
    /// Connections, and the segments and messages that cross them.
    private static let sockets = EventType.sockets.union([.segment]).union(EventType.messages)

    private static let eventFields: [FieldDefinition] = [
        string("evt.type", "The event's type: \(EventType.allNames).", everyType) { $0.event.type.name },
        field("evt.time", .time, "The event's kernel timestamp: nanoseconds since the epoch, written as ISO 8601 in alerts.", everyType) { .number { Int64(bitPattern: $0.event.time) } },
        number("evt.rawtime", "The event's timestamp in nanoseconds since the epoch.", everyType) { Int64(bitPattern: $0.event.time) },
        number("evt.num", "The event's number in this run, from 1.", everyType) { Int64(bitPattern: $0.number) },
        // Falco has an event at a call's entry (>) and one at its exit (<); sentinel reports each
        // call once, when it returns, so its older rules' `evt.dir=<` holds and `evt.dir=>` never does.
        string("evt.dir", "Always < (the call's return): sentinel reports a call once, when it returns, with its arguments and result.", everyType) { _ in "<" },
        string("evt.hostname", "The name of the host sentinel runs on.", everyType) { _ in hostName },
        number("evt.rawres", "The system call's return value: a file descriptor or a negative errno.", resultTypes) { context in
            context.openedFile?.result ?? context.call?.arguments.result ?? context.connection?.result
        },
        string("evt.res", "The system call's outcome: SUCCESS, or the errno's name (ENOENT, EPERM...).", resultTypes) { context in
            (context.openedFile?.result ?? context.call?.arguments.result ?? context.connection?.result).map(ErrnoNames.name(of:))
        },
        // Falco's evt.arg[N] counts from 0; a parameter sentinel reads by name (evt.arg.NAME) is
        // the same value.
        FieldDefinition(name: "evt.arg", keyed: "N",
                        description: "A captured system call's argument by its place, from 0 (evt.arg[0] is unlinkat's dirfd), as text; no value past the last.",
                        eventTypes: EventType.capturedCalls) { key in
            let place = Int(key) ?? -1
            return { context in
                guard let (call, arguments) = context.call, place >= 0, place < call.arguments.count else { return nil }
                return call.text(of: place, in: arguments)
            }
        },
        string("evt.args", "A captured system call's arguments as text: name=value, in the call's order.", EventType.capturedCalls) { context in
            guard let (call, arguments) = context.call else { return nil }
            return call.arguments.indices.map { "\(call.arguments[$0].name)=\(call.text(of: $0, in: arguments) ?? "<NA>")" }.joined(separator: " ")
        },
        bool("evt.is_open_read", "The open can read the file (neither O_WRONLY nor O_PATH).", opens) { $0.openedFile?.flags.isRead },
        bool("evt.is_open_write", "The open can change the file system: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_TMPFILE, and not O_PATH.", opens) { $0.openedFile?.flags.isWrite },
        bool("evt.is_open_exec", "The open creates the file (O_CREAT or O_TMPFILE) with a mode that lets someone execute it, as Falco's.", opens) { context in
            guard case .open(_, let flags, _, _, let mode) = context.event.payload else { return nil }
            return flags.createsFile && mode & 0o111 != 0
        },
        number("evt.arg.status", "The exit status of a procexit event.", [.procexit]) { context in
            if case .exit(let status) = context.event.payload { return status }
            return nil
        },
    ]

    /// The events that carry a system call's result.
    private static let resultTypes = opens.union([.connect, .accept]).union(EventType.capturedCalls)

    /// `evt.arg.NAME` for every argument name of the captured calls: a number where every call's
    /// argument of that name is one, text otherwise (paths, flags by their names). Each reads its
    /// argument's place in the event's call from a table made here, not by name per event.
    /// `evt.arg.flags` reads an open's flags too.
    private static let argumentFields: [FieldDefinition] = {
        var byName: [String: [CapturedCall]] = [:]
        for call in CapturedCall.all {
            for argument in call.arguments { byName[argument.name, default: []].append(call) }
        }
        return byName.keys.sorted().map { name in
            let calls = byName[name]!
            let places = CapturedCall.all.map { $0.argumentIndex(named: name) ?? -1 }
            let place = { @Sendable (context: EventContext) -> (CapturedCall, CallArguments, Int)? in
                guard let (call, arguments) = context.call else { return nil }
                let index = places[Int(call.eventType.rawValue) - Int(EventType.firstCapturedCall.rawValue)]
                return index < 0 ? nil : (call, arguments, index)
            }
            let numeric = calls.allSatisfy { call in
                switch call.arguments[call.argumentIndex(named: name)!].kind {
                case .number, .int, .id, .fd, .descriptor: true
                default: false
                }
            }
            let callNames = calls.map(\.name).joined(separator: ", ")
            if numeric {
                return number("evt.arg.\(name)", "The argument \(name) of \(callNames).", Set(calls.map(\.eventType))) { context in
                    place(context).map { $0.number(of: $2, in: $1) }
                }
            }
            // An open's flags and mode are arguments too, under the same names, as in Falco.
            let opensToo = name == "flags" || name == "mode"
            let description = switch name {
            case "flags": "The open flags, as O_RDONLY|O_CLOEXEC; the argument flags of \(callNames), by name."
            case "mode": "The mode an O_CREAT or O_TMPFILE open gives the file it creates, by name (S_IRUSR|S_IWUSR...); the argument mode of \(callNames)."
            default: "The argument \(name) of \(callNames)."
            }
            return string("evt.arg.\(name)", description, Set(calls.map(\.eventType)).union(opensToo ? opens : [])) { context in
                if opensToo, case .open(_, let flags, _, _, let mode) = context.event.payload {
                    return name == "flags" ? flags.description : (flags.createsFile ? FlagNames.mode.flags(UInt64(mode)) : nil)
                }
                return place(context).flatMap { $0.text(of: $2, in: $1) }
            }
        }
    }()

    /// `evt.rawarg.NAME` for the path arguments: the path as the process gave it, relative or not.
    private static let rawArgumentFields: [FieldDefinition] = {
        var byName: [String: [CapturedCall]] = [:]
        for call in CapturedCall.all {
            for argument in call.arguments where argument.kind.isString && argument.kind != .text { byName[argument.name, default: []].append(call) }
        }
        return byName.keys.sorted().map { name in
            let calls = byName[name]!
            let places = CapturedCall.all.map { $0.argumentIndex(named: name) ?? -1 }
            return string("evt.rawarg.\(name)", "The path \(name) of \(calls.map(\.name).joined(separator: ", ")) as the process gave it (evt.arg.\(name) is absolute).",
                          Set(calls.map(\.eventType))) { context in
                guard let (call, arguments) = context.call else { return nil }
                let index = places[Int(call.eventType.rawValue) - Int(EventType.firstCapturedCall.rawValue)]
                return index < 0 ? nil : arguments.texts[index]
            }
        }
    }()

    private static let processFields: [FieldDefinition] = [
        number("proc.pid", "The process id (thread group id).", processTypes) { $0.process?.pid },
        number("proc.tid", "The thread id.", processTypes) { $0.event.tid },
        number("proc.ppid", "The parent's process id.", processTypes) { $0.process?.ppid },
        string("proc.name", "The process name: the executable's file name (the kernel's comm, at most 15 characters, where that is all that is known).", processTypes) { nonEmpty($0.process?.name) },
        string("proc.exepath", "The full path of the executable, as the kernel opened it (what a relative name, a symlink or a descriptor stood for); a memfd's is /memfd:NAME.", processTypes) { nonEmpty($0.process?.exePath) },
        bool("proc.is_exe_from_memfd", "Whether the executable is a memfd: code run from memory, never a file (fexecve of memfd_create).", processTypes) { $0.process?.isExeFromMemfd },
        bool("proc.is_exe_upper_layer", "Whether the executable lies in the container's writable layer (overlayfs' upper): written, or copied up by a change, since the container started, not part of its image. False off an overlay.", processTypes) { $0.process?.isExeUpperLayer },
        number("proc.exe_ino", "The executable's inode number, as stat shows it in the container.", processTypes) { $0.process?.exeInode },
        field("proc.exe_ino.ctime", .time, "When the executable's inode last changed status (written, chmod'ed, linked): its ctime.", processTypes) {
            .number { context in context.process?.exeChangeTime.map { Int64(bitPattern: $0) } }
        },
        field("proc.exe_ino.mtime", .time, "When the executable's content last changed: its mtime.", processTypes) {
            .number { context in context.process?.exeModifyTime.map { Int64(bitPattern: $0) } }
        },
        number("proc.exe_ino.ctime_duration_proc_start", "Nanoseconds from the executable's last change of status (ctime) to the process's start: small for a binary written just before it ran.", processTypes) { context in
            guard let process = context.process, let changed = process.exeChangeTime else { return nil }
            return Int64(bitPattern: process.startTime &- changed)
        },
        FieldDefinition(name: "proc.env", keyed: "NAME", description: "The environment at exec, NAME=VALUE pairs joined by spaces (up to 1024 bytes of it); proc.env[NAME] is one variable's value. Read from the kernel only when a rule names this field: environments often hold secrets, and a rule that prints it sends them wherever alerts go.", eventTypes: processTypes, whole: { context in
            context.process.flatMap { $0.environment.isEmpty ? nil : $0.environment.joined(separator: " ") }
        }) { name in
            let prefix = name + "="
            return { context in
                context.process?.environment.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            }
        },
        string("proc.exe", "argv[0], as the process was started.", processTypes) { $0.process?.args.first },
        string("proc.args", "The arguments after argv[0], joined by spaces.", processTypes) { $0.process?.arguments },
        string("proc.cmdline", "proc.name followed by proc.args.", processTypes) { $0.process?.commandLine },
        string("proc.cwd", "The working directory at exec.", processTypes) { nonEmpty($0.process?.cwd) },
        number("proc.vpid", "The pid inside the process's own pid namespace: 1 for a container's entrypoint.", processTypes) { $0.process?.vpid },
        number("proc.sid", "The session id, in the process's pid namespace (none for a session begun outside it), as at its last exec.", processTypes) { $0.process?.sid },
        number("proc.vpgid", "The process group id, in the process's pid namespace, as at its last exec.", processTypes) { $0.process?.vpgid },
        bool("proc.is_vpgid_leader", "Whether the process leads its process group (proc.vpid = proc.vpgid).", processTypes) { context in
            guard let process = context.process, let vpid = process.vpid, let vpgid = process.vpgid else { return nil }
            return vpid == vpgid
        },
        string("proc.sname", "The session leader's name: the eldest ancestor (or the process) in the same session.", processTypes) { context in
            eldest(of: context.process, sharing: \.sid)?.name
        },
        string("proc.vpgid.name", "The process group leader's name: the eldest ancestor (or the process) in the same group.", processTypes) { context in
            eldest(of: context.process, sharing: \.vpgid)?.name
        },
        string("proc.vpgid.exe", "The process group leader's proc.exe (argv[0]).", processTypes) { context in
            eldest(of: context.process, sharing: \.vpgid)?.args.first
        },
        bool("proc.args_truncated", "Whether the command line was cut at the sensor's bound (1024 bytes of argv).", processTypes) { $0.process?.argsTruncated },
        number("proc.tty", "The controlling terminal's device number; 0 when there is none.", processTypes) { $0.process?.tty },
        bool("proc.is_exe_written", "The executable was opened for writing in the same container (or on the host) before it was run: a dropped binary. A rule that reads it makes the sensors send opens, which it is learnt from.", processTypes) { $0.process?.isExeWritten }
            .learned(from: [.open, .openat, .openat2]),
        string("proc.pname", "The parent's proc.name.", processTypes) { nonEmpty($0.process?.parent?.name) },
        string("proc.pexepath", "The parent's proc.exepath.", processTypes) { nonEmpty($0.process?.parent?.exePath) },
        string("proc.pexe", "The parent's proc.exe (argv[0]).", processTypes) { $0.process?.parent?.args.first },
        number("proc.duration", "Nanoseconds since the process started (since sentinel first saw it, for one born before sentinel).", processTypes) { context in
            context.process.map { Int64(bitPattern: context.event.time &- $0.startTime) }
        },
        number("proc.ppid.duration", "Nanoseconds since the parent started.", processTypes) { context in
            context.process?.parent.map { Int64(bitPattern: context.event.time &- $0.startTime) }
        },
        string("proc.pcmdline", "The parent's proc.cmdline.", processTypes) { $0.process?.parent?.commandLine },
        ancestorText("proc.aname", "proc.name") { $0.name },
        ancestorText("proc.aexe", "proc.exe (argv[0])") { $0.args.first ?? "" },
        ancestorText("proc.aexepath", "proc.exepath") { $0.exePath },
        FieldDefinition(
            name: "proc.apid", type: .number,
            description: "An ancestor's proc.pid: [1] is the parent; without an index, a comparison holds if it holds for any ancestor.",
            argument: .optionalIndex, eventTypes: processTypes
        ) { index in
            if let index {
                return .number { context in index == 1 ? context.process?.ppid : context.process?.ancestor(index)?.pid }
            }
            return .anyNumber({ context, matches in
                ancestry(of: context.process).contains { matches($0.pid) }
            }, render: { context in ancestry(of: context.process).map { String($0.pid) }.joined(separator: ",") })
        },
    ]

    /// An ancestor's text (`[1]` the parent...); without an index, any ancestor's.
    private static func ancestorText(_ name: String, _ meaning: String, _ value: @escaping @Sendable (ProcessRecord) -> String) -> FieldDefinition {
        FieldDefinition(
            name: name, type: .string,
            description: "An ancestor's \(meaning): [1] is the parent, [2] the grandparent...; without an index, a comparison holds if it holds for any ancestor.",
            argument: .optionalIndex, eventTypes: processTypes
        ) { index in
            if let index { return .string { $0.process?.ancestor(index).map(value) } }
            return .anyString({ context, matches in
                var ancestor = context.process?.parent
                while let current = ancestor {
                    if matches(value(current)) { return true }
                    ancestor = current.parent
                }
                return false
            }, render: { context in ancestry(of: context.process).map(value).joined(separator: ",") })
        }
    }

    private static let userFields: [FieldDefinition] = [
        number("user.uid", "The real user id; after a setuid-family call, from the process's next event on (the call itself shows who made it).", processTypes) { context in context.process.flatMap { $0.uid >= 0 ? $0.uid : nil } },
        number("user.euid", "The effective user id (differs from user.uid after running a setuid binary).", processTypes) { context in
            context.process.flatMap { $0.euid >= 0 ? $0.euid : nil }
        },
        string("user.name", "The user name, as the container's own /etc/passwd gives it at exec (uid 0 is root).", processTypes) { context in
            guard let process = context.process else { return nil }
            return process.userName ?? (process.uid == 0 ? "root" : nil)
        },
        number("group.gid", "The real group id.", processTypes) { context in context.process.flatMap { $0.gid >= 0 ? $0.gid : nil } },
        string("group.name", "The group's name, as the container's own /etc/group gives it at exec (gid 0 is root).", processTypes) { context in
            guard let process = context.process else { return nil }
            return process.groupName ?? (process.gid == 0 ? "root" : nil)
        },
        number("user.loginuid", "The audit login uid: the user who logged in, kept through su, sudo and setuid; -1 when unset (services, and every container process a runtime started).", processTypes) {
            $0.process?.loginUID
        },
        string("user.loginname", "The login uid's name, where known (0 is root).", processTypes) { context in
            context.process?.loginUID == 0 ? "root" : nil
        },
        string("thread.cap_effective", "The effective capabilities, by name, space-separated (CAP_CHOWN CAP_SYS_ADMIN...), as the last exec, setuid or capset left them.", processTypes) {
            $0.process?.capEffective.map(capabilityNames)
        },
        string("thread.cap_permitted", "The permitted capabilities, by name, as the last exec, setuid or capset left them.", processTypes) {
            $0.process?.capPermitted.map(capabilityNames)
        },
    ]

    private static let containerFields: [FieldDefinition] = [
        string("container.id", "The container's id, its first 12 hex digits as docker ps shows it, or host.", everyType) { $0.container.id },
        string("container.full_id", "The container's full 64-digit id, or host.", everyType) { $0.container.fullID },
        string("container.name", "The container's name, from the container runtime; host on the host.", everyType) { nonEmpty($0.container.name) },
        string("container.image", "The container's image as it was started (repository:tag).", everyType) { nonEmpty($0.container.image) },
        string("container.image.id", "The image's id, the first 12 hex digits of its digest as docker images shows it: what the image is, where container.image is what it was called.", everyType) { context in
            let id = context.container.imageID
            return id.isEmpty ? nil : String((id.hasPrefix("sha256:") ? id.dropFirst(7) : id[...]).prefix(12))
        },
        FieldDefinition(name: "container.label", keyed: "KEY", description: "The value of one of the container's labels (container.label[app]).", eventTypes: everyType) { key in
            { context in context.container.labels[key] }
        },
        string("container.image.repository", "The image without its tag.", everyType) { context in
            nonEmpty(splitImage(context.container.image).repository)
        },
        string("container.image.tag", "The image's tag (latest when none is given).", everyType) { context in
            context.container.image.isEmpty ? nil : splitImage(context.container.image).tag
        },
        bool("container.privileged", "Whether the container runs privileged (--privileged: every capability and device).", everyType) { context in
            context.container.isHost || context.container.image.isEmpty ? nil : context.container.privileged
        },
        field("container.start_ts", .time, "When the container started, in nanoseconds since the epoch (ISO 8601 in alerts).", everyType) {
            .number { $0.container.startTime.map { Int64(bitPattern: $0) } }
        },
        mountField("container.mount.dest", "destination") { $0.destination },
        mountField("container.mount.source", "source (the host's path)") { $0.source },
        mountField("container.mount.mode", "mode (ro, z...)") { $0.mode },
        mountField("container.mount.rdwr", "writability (true, false)") { String($0.isWritable) },
        mountField("container.mount.propagation", "propagation") { $0.propagation },
        string("container.mounts", "The container's mounts, Falco's way: source:dest:mode:rdwr:propagation, comma-separated.", everyType) { context in
            context.container.isHost ? nil : context.container.mounts.map(\.text).joined(separator: ",")
        },
        string("k8s.pod.name", "The Kubernetes pod's name, from the label the kubelet puts on its containers (io.kubernetes.pod.name).", everyType) {
            $0.container.labels["io.kubernetes.pod.name"]
        },
        string("k8s.ns.name", "The Kubernetes namespace's name (label io.kubernetes.pod.namespace).", everyType) {
            $0.container.labels["io.kubernetes.pod.namespace"]
        },
        string("k8s.pod.uid", "The Kubernetes pod's uid (label io.kubernetes.pod.uid).", everyType) {
            $0.container.labels["io.kubernetes.pod.uid"]
        },
    ]

    /// The captured calls whose descriptor argument the kernel describes.
    private static let described = Set(CapturedCall.all.filter { $0.descriptorIndex != nil }.map(\.eventType))
    /// Those calls' described files' paths, or an open's.
    private static func filePath(_ context: EventContext) -> String? {
        context.openedFile?.path ?? context.descriptor.flatMap { $0.kind == .file || $0.kind == .directory ? $0.name : nil }
    }

    private static let fileFields: [FieldDefinition] = [
        string("fd.nameraw", "An open's path as the process gave it (a relative one is made absolute in fd.name).", opens) { context in
            if case .open(let path, _, _, let given, _) = context.event.payload { return given ?? path }
            return nil
        },
        string("fd.name", "The file's path for opens, absolute (a relative path joined to the directory it started from); source:port->destination:port for connections; for a call on a descriptor (dup, fchmod...), what is open there: a path, a memfd's memfd:NAME, a socket's local:port->remote:port.", opens.union(sockets).union(described)) { context in
            if let file = context.openedFile { return file.path }
            if let descriptor = context.descriptor { return descriptor.displayName(peer: context.descriptorPeer) }
            guard let connection = context.connection else { return nil }
            let destination = connection.destination.text
            guard let source = connection.source else { return destination }
            return source.text + "->" + destination
        },
        string("fd.directory", "The directory part of an opened file's path (or of a described descriptor's file).", opens.union(described)) { context in
            filePath(context).map(directoryName)
        },
        string("fd.filename", "The file-name part of an opened file's path (or of a described descriptor's file).", opens.union(described)) { context in
            filePath(context).map(baseName)
        },
        number("fd.num", "The descriptor: the one an open returned, or the one a call on a descriptor was given (dup's fd, dup2's oldfd).", opens.union(described)) { context in
            if let file = context.openedFile { return file.result >= 0 ? file.result : nil }
            return context.descriptor?.number
        },
        string("fd.type", "What the descriptor is: \(Descriptor.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (unknown: a socket of another family, such as a packet socket). Opens: file or directory; connections: ipv4 or ipv6.", opens.union(sockets).union(described)) { context in
            descriptorKind(context)?.rawValue
        },
        string("fd.typechar", "fd.type as Falco's one character: f file, d directory, 4 ipv4, 6 ipv6, u unix or userfaultfd, p pipe, e event, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, r io_uring, m memfd, o unknown.", opens.union(sockets).union(described)) { context in
            descriptorKind(context)?.character
        },
        string("fd.sockfamily", "A socket's family as Falco names it: ip (IPv4 and IPv6) or unix.", sockets.union(described)) { context in
            switch descriptorKind(context) {
            case .ipv4, .ipv6: "ip"
            case .unix: "unix"
            default: nil
            }
        },
        bool("fd.name_changed", "Whether the call gave an unconnected socket a peer other than the one it last sent to or received from (a UDP socket's first datagram to or from each peer), as Falco's.",
             Set(CapturedCall.all.filter { $0.addressIndex != nil }.map(\.eventType))) { context in context.descriptor.map { _ in context.nameChanged } },
        bool("fd.connected", "Whether a described IP socket has a peer (for connections: a connect that succeeded).", sockets.union(described)) { context in
            if let descriptor = context.descriptor { return descriptor.kind.map { $0 == .ipv4 || $0 == .ipv6 } == true && descriptor.isConnected }
            return context.connection.map { $0.result == 0 && $0.source != nil }
        },
        number("fd.ino", "The inode number of a described descriptor's file.", described) { context in
            context.descriptor.flatMap { $0.kind == nil ? nil : Int64(bitPattern: $0.inode) }
        },
    ]

    private static func descriptorKind(_ context: EventContext) -> Descriptor.Kind? {
        if let descriptor = context.descriptor { return descriptor.kind }
        if let file = context.openedFile { return file.result < 0 ? nil : file.flags.contains(.directory) ? .directory : .file }
        return context.connection.flatMap { connection in
            let address = connection.local?.address ?? connection.destination.address
            return address.isIPv4 ? .ipv4 : .ipv6
        }
    }

    private static let networkFields: [FieldDefinition] = [
        string("fd.l4proto", "The transport protocol: tcp or udp.", sockets.union(described)) { $0.connection?.l4proto ?? $0.descriptor?.l4proto },
        string("fd.direction", "outbound when this process initiated the connection (connect), inbound when it accepted or listens; for a segment, outbound when the container sent it.", sockets) { $0.connection?.direction.rawValue },
        // Falco's meanings: s for the server (the side that accepted or listens), c for the
        // client (the side that connected), l and r for this process's end and its peer's. An
        // address field compares as a CIDR network too (fd.snet in (10.0.0.0/8)).
        ip("fd.sip", "The server's address: the side that accepted (for listen, the listening address); for a captured segment, its receiver's.", sockets) { $0.connection?.destination.address },
        number("fd.sport", "The server's port (for listen, the listening port); for a segment, its receiver's.", sockets) { context in context.connection.map { Int64($0.destination.port) } },
        ip("fd.cip", "The client's address: the side that connected; for a captured segment, its sender's.", sockets) { $0.connection?.source?.address },
        number("fd.cport", "The client's port; for a segment, its sender's.", sockets) { context in context.connection?.source.map { Int64($0.port) } },
        ip("fd.lip", "The local address, on this process's side.", sockets.union(described)) { localEnd($0)?.address },
        number("fd.lport", "The local port (for bind, the one bound).", sockets.union(described)) { localEnd($0).map { Int64($0.port) } },
        ip("fd.rip", "The remote address, the peer's.", sockets.union(described)) { remoteEnd($0)?.address },
        number("fd.rport", "The remote port.", sockets.union(described)) { remoteEnd($0).map { Int64($0.port) } },
        string("fd.sip.name", "The name the server's address resolved from: one of the names rules compare these fields with, which sentinel looks up every minute, as Falco does; empty for an address no such name gives.", sockets) { context in
            resolvedName(of: context.connection?.destination.address)
        },
        string("fd.cip.name", "The name the client's address resolved from (see fd.sip.name).", sockets) { context in
            resolvedName(of: context.connection?.source?.address)
        },
        string("fd.lip.name", "The name the local address resolved from (see fd.sip.name).", sockets.union(described)) { context in
            resolvedName(of: localEnd(context)?.address)
        },
        string("fd.rip.name", "The name the remote address resolved from (see fd.sip.name).", sockets.union(described)) { context in
            resolvedName(of: remoteEnd(context)?.address)
        },
        ip("fd.cnet", "The client's address, for CIDR matches (fd.cnet = 10.0.0.0/8).", sockets) { $0.connection?.source?.address },
        ip("fd.snet", "The server's address, for CIDR matches.", sockets) { $0.connection?.destination.address },
        ip("fd.lnet", "The local address, for CIDR matches, as Falco's fd.lnet.", sockets.union(described)) { localEnd($0)?.address },
        ip("fd.rnet", "The remote address, for CIDR matches, as Falco's fd.rnet.", sockets.union(described)) { remoteEnd($0)?.address },
        field("fd.ip", .ip, "Either end's address, as Falco's fd.ip: = and in hold if either end matches, != if neither does.", sockets.union(described)) {
            .eitherEnd(socketEnds)
        },
        field("fd.port", .number, "Either end's port, as Falco's fd.port: a comparison holds if it holds for either end, != if neither end has the port.", sockets.union(described)) {
            .eitherPort { context in (localEnd(context).map { Int64($0.port) }, remoteEnd(context).map { Int64($0.port) }) }
        },
        field("fd.net", .ip, "Either end's address for CIDR matches, as Falco's fd.net: = and in hold if either end is in the network, != if neither is.", sockets.union(described)) {
            .eitherEnd(socketEnds)
        },
        number("fd.bytes_in", "Bytes received over the connection (at close); live, the kernel's count, in which a received FIN counts as one.", [.close]) { context in context.connection?.traffic.map { Int64($0.bytesIn) } },
        number("fd.bytes_out", "Bytes sent over the connection (at close).", [.close]) { context in context.connection?.traffic.map { Int64($0.bytesOut) } },
        number("fd.segs_in", "TCP segments received (at close).", [.close]) { context in context.connection?.traffic.map { Int64($0.segmentsIn) } },
        number("fd.segs_out", "TCP segments sent (at close).", [.close]) { context in context.connection?.traffic.map { Int64($0.segmentsOut) } },
    ]

    private static let segmentFields: [FieldDefinition] = [
        string("tcp.flags", "A segment's TCP flags as tcpdump names them, in header order: SYN, SYN,ACK, FIN,ACK, RST...", [.segment]) { $0.connection?.segment?.flags.description },
        number("tcp.seq", "A segment's sequence number.", [.segment]) { context in context.connection?.segment.map { Int64($0.sequence) } },
        number("tcp.ack", "A segment's acknowledgement number.", [.segment]) { context in context.connection?.segment.map { Int64($0.acknowledgement) } },
        number("tcp.len", "A segment's payload: the bytes after its TCP header (a TSO/GSO send counts whole).", [.segment]) { context in context.connection?.segment.map { Int64($0.payloadLength) } },
    ]

    private static let systemCallFields: [FieldDefinition] = [
        number("syscall.nr", "The system call's number: x86_64's; a 32-bit program's (int 0x80, sysenter) is i386's plus 512, apart.", [.syscall]) { context in
            if case .syscall(let number) = context.event.payload { return number }
            return nil
        },
        string("syscall.name", "The system call's name: x86_64's (read), or i386:NAME for a 32-bit program's (i386:read).", [.syscall]) { context in
            if case .syscall(let number) = context.event.payload { return SystemCallNames.name(of: Int(number)) }
            return nil
        },
    ]

    private static let messageFields: [FieldDefinition] = [
        string("http.method", "An HTTP request's method (GET, POST...); on a response, its request's.", [.http, .httpresponse]) { $0.httpRequest?.method },
        string("http.uri", "An HTTP request's target as sent: the path and query (an absolute URI through a proxy); on a response, its request's.", [.http, .httpresponse]) { $0.httpRequest?.uri },
        string("http.uri.decoded", "http.uri with %XX escapes and + decoded once: what a server reads, and what signatures match.", [.http, .httpresponse]) { context in
            context.httpRequest.map { percentDecoded($0.uri) }
        },
        string("http.host", "An HTTP request's Host header; on a response, its request's.", [.http, .httpresponse]) { $0.httpRequest?.host },
        string("http.user_agent", "An HTTP request's User-Agent header; on a response, its request's.", [.http, .httpresponse]) { $0.httpRequest?.userAgent },
        number("http.status", "An HTTP response's status code.", [.httpresponse]) { context in
            if case .httpResponse(let response, _)? = context.message { return Int64(response.status) }
            return nil
        },
        string("http.content_type", "An HTTP response's Content-Type header.", [.httpresponse]) { context in
            if case .httpResponse(let response, _)? = context.message { return response.contentType }
            return nil
        },
        string("dns.qname", "The name a DNS query asks for (the answer's question, in an answer), without the final dot.", [.dns]) { $0.dnsQuestion?.name },
        string("dns.qtype", "The DNS question's type: A, AAAA, TXT, MX... or TYPE<N>.", [.dns]) { $0.dnsQuestion?.type },
        string("dns.rcode", "A DNS answer's outcome: NOERROR, NXDOMAIN, SERVFAIL, REFUSED...; NOERROR in a query.", [.dns]) { $0.dnsQuestion?.rcode },
        bool("dns.is_response", "Whether the DNS message is an answer.", [.dns]) { $0.dnsQuestion?.isResponse },
        string("dns.domain", "dns.qname's last two labels (pool.example.com gives example.com): what a name is registered under.", [.dns]) { context in
            context.dnsQuestion.map { $0.name.split(separator: ".").suffix(2).joined(separator: ".") }
        },
        number("dns.longest_label", "The length of dns.qname's longest label: tunnels carry data in labels of 40 to 63 characters.", [.dns]) { context in
            context.dnsQuestion.map { Int64($0.longestLabel.utf8.count) }
        },
        number("dns.longest_label_digits", "How many digits dns.qname's longest label holds: data encoded in hex or base32 has many, words and names few.", [.dns]) { context in
            context.dnsQuestion.map { Int64($0.longestLabel.utf8.filter { $0 >= 0x30 && $0 <= 0x39 }.count) }
        },
        string("tls.sni", "The server name a TLS ClientHello asks for.", [.tls]) { context in
            if case .tlsClientHello(let name)? = context.message { return name }
            return nil
        },
        string("mysql.query", "The SQL text a MySQL or MariaDB client sent (a query, or a statement to prepare), its first 16 KiB.", [.mysql]) { context in
            if case .mysqlQuery(let query, _, _)? = context.message { return query }
            return nil
        },
        bool("mysql.query_truncated", "Whether the query was longer than the 16 KiB kept.", [.mysql]) { context in
            if case .mysqlQuery(_, let truncated, _)? = context.message { return truncated }
            return nil
        },
        string("mysql.user", "The user the connection logged in as, when its login was seen.", [.mysql]) { context in
            if case .mysqlQuery(_, _, let user)? = context.message { return user }
            return nil
        },
    ]

    /// A message between two watched containers is one event: `container.*` and `proc.*` are the
    /// client's end, these the server's. With only one end watched, they are missing.
    private static let peerFields: [FieldDefinition] = [
        string("peer.container.id", "A message's other end: its container's id (12 digits), when that container's veth carried the message too.", EventType.messages) {
            $0.peerContainer?.id
        },
        string("peer.container.name", "A message's other end: its container's name.", EventType.messages) { nonEmpty($0.peerContainer?.name) },
        string("peer.container.image", "A message's other end: its container's image.", EventType.messages) { nonEmpty($0.peerContainer?.image) },
        string("peer.proc.name", "A message's other end: the process holding it, when its connect or accept was seen.", EventType.messages) {
            nonEmpty($0.peerProcess?.name)
        },
        number("peer.proc.pid", "A message's other end: the pid of the process holding it.", EventType.messages) { $0.peerProcess?.pid },
    ]

    // MARK: - Building blocks

    private static func field(_ name: String, _ type: FieldType, _ description: String, _ types: Set<EventType>,
                              _ accessor: @escaping @Sendable () -> FieldAccessor) -> FieldDefinition {
        FieldDefinition(name: name, type: type, description: description, argument: .none, eventTypes: types) { _ in accessor() }
    }

    private static func string(_ name: String, _ description: String, _ types: Set<EventType>,
                               _ read: @escaping @Sendable (EventContext) -> String?) -> FieldDefinition {
        field(name, .string, description, types) { .string(read) }
    }

    private static func number(_ name: String, _ description: String, _ types: Set<EventType>,
                               _ read: @escaping @Sendable (EventContext) -> Int64?) -> FieldDefinition {
        field(name, .number, description, types) { .number(read) }
    }

    private static func bool(_ name: String, _ description: String, _ types: Set<EventType>,
                             _ read: @escaping @Sendable (EventContext) -> Bool?) -> FieldDefinition {
        field(name, .bool, description, types) { .bool(read) }
    }

    /// One part of the container's mount whose destination matches a glob, as Falco's
    /// `container.mount.dest[/proc*]`: "N/A" in a container with no such mount, as Falco gives it
    /// (its rules test `not container.mount.dest[/proc*] in ("<NA>", "N/A")`).
    private static func mountField(_ name: String, _ part: String, _ value: @escaping @Sendable (ContainerFacts.Mount) -> String) -> FieldDefinition {
        FieldDefinition(name: name, keyed: "DEST", description: "The \(part) of the container's mount whose destination matches the glob DEST (\(name)[/proc*]); N/A, as in Falco, when none does.",
                        eventTypes: everyType) { pattern in
            let destination = GlobPattern(pattern)
            return { context in
                guard !context.container.isHost else { return nil }
                return context.container.mounts.first { destination.matches($0.destination) }.map(value) ?? "N/A"
            }
        }
    }

    /// An end's name by the rules' names (ResolvedNames); empty for an address none resolves to,
    /// no value without the end.
    private static func resolvedName(of address: IPAddress?) -> String? {
        address.map { ResolvedNames.shared.name(of: $0) ?? "" }
    }

    /// A connection's or a described socket's ends: this process's, and its peer's.
    private static func localEnd(_ context: EventContext) -> Endpoint? { context.connection?.local ?? context.descriptor?.local }
    private static func remoteEnd(_ context: EventContext) -> Endpoint? { context.connection?.remote ?? context.descriptorPeer }

    private static let socketEnds: @Sendable (EventContext) -> (local: IPAddress?, remote: IPAddress?) = { context in
        (localEnd(context)?.address, remoteEnd(context)?.address)
    }

    private static func ip(_ name: String, _ description: String, _ types: Set<EventType>,
                           _ read: @escaping @Sendable (EventContext) -> IPAddress?) -> FieldDefinition {
        field(name, .ip, description, types) { .ip(read) }
    }
}

private func ancestry(of process: ProcessRecord?) -> [ProcessRecord] {
    var chain: [ProcessRecord] = []
    var ancestor = process?.parent
    while let current = ancestor {
        chain.append(current)
        ancestor = current.parent
    }
    return chain
}

/// Unknown strings are kept empty in the tables and read as missing.
private func nonEmpty(_ text: String?) -> String? { text?.isEmpty == false ? text : nil }

/// %XX escapes decoded, and + as a space; a malformed escape is kept as it is.
func percentDecoded(_ text: String) -> String {
    let bytes = Array(text.utf8)
    guard bytes.contains(UInt8(ascii: "%")) || bytes.contains(UInt8(ascii: "+")) else { return text }
    func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
    var decoded: [UInt8] = []
    decoded.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
            decoded.append(high << 4 | low)
            index += 3
            continue
        }
        decoded.append(bytes[index] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[index])
        index += 1
    }
    return String(decoding: decoded, as: UTF8.self)
}


func directoryName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == path.utf8.startIndex { return "/" }
    return String(path[..<slash])
}

/// "registry:5000/app:1.2" -> ("registry:5000/app", "1.2"); a digest stays with the repository.
func splitImage(_ image: String) -> (repository: String, tag: String) {
    let withoutDigest = image.split(separator: "@", maxSplits: 1).first.map(String.init) ?? image
    guard let colon = withoutDigest.lastIndex(of: ":"), !withoutDigest[colon...].contains("/") else {
        return (withoutDigest, "latest")
    }
    return (String(withoutDigest[..<colon]), String(withoutDigest[withoutDigest.index(after: colon)...]))
}

/// Linux's capabilities in bit order.
private let capabilities = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

/// The bit of a capability's name ("CAP_SYS_ADMIN", or "CAP_N" as written for bits with no name).
func capabilityBit(named name: String) -> Int? {
    if let index = capabilities.firstIndex(of: name) { return index }
    guard name.hasPrefix("CAP_"), let bit = Int(name.dropFirst(4)), (0..<64).contains(bit) else { return nil }
    return bit
}

/// "CAP_CHOWN CAP_KILL": the names of the bits set, a bit no name covers as CAP_N.
func capabilityNames(_ bits: UInt64) -> String {
    (0..<64).filter { bits & (1 << UInt64($0)) != 0 }.map { $0 < capabilities.count ? capabilities[$0] : "CAP_\($0)" }.joined(separator: " ")
}

/// The host's name, read once.
private let hostName: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()

/// The eldest of `process` and its ancestors, unbroken, whose `key` is the process's own: its
/// session's or process group's leader as far as the table knows.
private func eldest(of process: ProcessRecord?, sharing key: KeyPath<ProcessRecord, Int64?>) -> ProcessRecord? {
    guard let process, let value = process[keyPath: key] else { return nil }
    var leader = process
    while let parent = leader.parent, parent[keyPath: key] == value { leader = parent }
    return leader
}
