import SentinelJSON

/// The recorded-event format: one JSON object per line whose keys are field names. Only an event's
/// own data is recorded; what the engine derives (proc.pname, proc.aname, proc.cmdline,
/// container.name on process events...) is refused, so that a recording cannot contradict the tables.
public enum EventCodec {
    /// Keys a recorded event may carry, with what they mean; README's table is made from this.
    public static let recordedKeys: [(key: String, meaning: String)] = [
        ("evt.type", "required: " + EventType.allNames),
        ("evt.time", "required: nanoseconds since the epoch, or an ISO 8601 string"),
        ("proc.pid", "required except for container, boscepoch and message events (a message's is its connection's owner); for clone, the new child"),
        ("proc.tid", "the thread id (default: proc.pid)"),
        ("proc.ppid", "the parent's pid (clone, execve, execveat)"),
        ("proc.name", "the process name (default at exec: the executable's file name)"),
        ("proc.exepath", "the executable's path (execve, execveat)"),
        ("proc.is_exe_from_memfd", "true when the executable is a memfd (execve, execveat)"),
        ("proc.is_exe_upper_layer", "true when the executable lies in the container's writable layer (execve, execveat)"),
        ("proc.exe_ino", "the executable's inode number (execve, execveat)"),
        ("proc.exe_ino.ctime", "the executable's inode's ctime, nanoseconds since the epoch or ISO 8601 (execve, execveat)"),
        ("proc.exe_ino.mtime", "the executable's inode's mtime, nanoseconds since the epoch or ISO 8601 (execve, execveat)"),
        ("proc.args", "argv as an array of strings, argv[0] first (execve, execveat)"),
        ("proc.env", "the environment as an array of NAME=VALUE strings (execve, execveat)"),
        ("proc.cwd", "the working directory"),
        ("proc.tty", "the controlling terminal's device number, 0 for none"),
        ("proc.vpid", "the pid in the process's own pid namespace (1: a container's entrypoint)"),
        ("proc.sid", "the session id in the process's pid namespace (execve, execveat)"),
        ("proc.vpgid", "the process group id in the process's pid namespace (execve, execveat)"),
        ("proc.args_truncated", "true when the sensor cut argv at its bound (execve, execveat)"),
        ("user.uid", "the real user id"),
        ("user.euid", "the effective user id (default: user.uid)"),
        ("user.name", "the user name, where the source knows it"),
        ("group.name", "the group name, where the source knows it"),
        ("group.gid", "the real group id"),
        ("user.loginuid", "the audit login uid, -1 when unset (execve, execveat)"),
        ("thread.cap_effective", "the effective capabilities by name, space-separated, as \"CAP_CHOWN CAP_NET_RAW\" (execve, execveat)"),
        ("thread.cap_permitted", "the permitted capabilities by name (execve, execveat)"),
        ("evt.after.user.uid", "captured calls that change credentials (setuid family, capset): the uid the call left, from the next event on"),
        ("evt.after.user.euid", "the same: the effective uid (default: evt.after.user.uid)"),
        ("evt.after.group.gid", "the same: the gid"),
        ("evt.after.thread.cap_effective", "the same: the effective capabilities by name"),
        ("evt.after.thread.cap_permitted", "the same: the permitted capabilities by name"),
        ("container.id", "the full (or 12-digit) container id, or host; inherited from the process when absent"),
        ("container.name", "container events only: the container's name"),
        ("container.image", "container events only: the container's image"),
        ("container.image.id", "container events only: the image's id (sha256:...), as the runtime names it"),
        ("container.privileged", "container events only: true when it runs privileged (default false)"),
        ("container.start_ts", "container events only: when it started, nanoseconds since the epoch or ISO 8601"),
        ("container.mounts", "container events only: its mounts, an array of \"source:dest:mode:rdwr:propagation\" strings"),
        ("container.labels", "container events only: its labels, an object of strings (k8s.* fields read the kubelet's)"),
        ("container.removed", "container events only: true when the container is gone, and the engine forgets it (default false)"),
        ("evt.arg.status", "procexit: the exit status"),
        ("evt.arg.NAME", "captured system calls: each argument by its name (sentinel fields lists them): a number, or a string for paths (absolute) and text; flags also by their names, as \"AT_REMOVEDIR\""),
        ("evt.rawarg.NAME", "captured system calls: a path argument as the process gave it, when that was not its absolute path"),
        ("evt.arg.flags", "opens: the flags, as a number or as \"O_WRONLY|O_CREAT\""),
        ("evt.arg.mode", "opens: the mode an O_CREAT or O_TMPFILE open gives the file, a number (0o755 is 493); left out when 0"),
        ("evt.rawres", "opens, connect, accept, captured system calls: the return value (default 0)"),
        ("fd.name", "opens: the file's path, absolute where the directory it was relative to is known; calls on a descriptor: the file open there"),
        ("fd.nameraw", "opens: the path as the process gave it, when that was not fd.name"),
        ("fd.type", "calls on a descriptor (dup, fchmod, sendto...): what is open there (\(Descriptor.Kind.allCases.map(\.rawValue).joined(separator: ", "))); without it, nothing was"),
        ("fd.ino", "calls on a descriptor: the inode number of the file open there"),
        ("fd.lip", "calls on a socket descriptor: the local address"),
        ("fd.lport", "calls on a socket descriptor: the local port"),
        ("fd.rip", "calls on a socket descriptor: the peer's address, when connected"),
        ("fd.rport", "calls on a socket descriptor: the peer's port"),
        ("fd.l4proto", "sockets, calls on a socket descriptor: tcp (default for sockets) or udp"),
        ("fd.direction", "close: outbound or inbound (connect, accept and listen imply it); segment: outbound when sent"),
        ("fd.cip", "sockets: the client's address; segments: the sender's"),
        ("fd.cport", "sockets: the client's port; segments: the sender's"),
        ("fd.sip", "sockets: the server's address; listen: the listening address; segments: the receiver's"),
        ("fd.sport", "sockets: the server's port; listen: the listening port; segments: the receiver's"),
        ("fd.bytes_in", "close: bytes received"),
        ("fd.bytes_out", "close: bytes sent"),
        ("fd.segs_in", "close: segments received"),
        ("fd.segs_out", "close: segments sent"),
        ("tcp.flags", "segment: the TCP flags, as \"SYN,ACK\""),
        ("tcp.seq", "segment: the sequence number"),
        ("tcp.ack", "segment: the acknowledgement number"),
        ("tcp.len", "segment: the payload's bytes"),
        ("syscall.nr", "syscall: the system call's number"),
        ("bosc.epoch", "boscepoch: the container's epoch, from 1"),
        ("bosc.calls", "boscepoch: calls counted in it"),
        ("bosc.mismatches", "boscepoch: unknown bags counted in it"),
        ("bosc.unseen_mismatches", "boscepoch: of those, bags holding a call training never saw"),
        ("bosc.complete", "boscepoch: false for the verdict sent as the mismatches passed the threshold"),
        ("bosc.unknown_bags", "boscepoch: the first unknown bags, each an array of call numbers"),
        ("bosc.training_norm", "boscepoch of a training in the kernel: the sum of its bags' counts squared"),
        ("bosc.training_previous_norm", "boscepoch of a training: the previous epoch's"),
        ("bosc.training_dot", "boscepoch of a training: the dot product of its bags' counts and the previous epoch's"),
        ("bosc.training_dropped_bags", "boscepoch of a training: new bags the kernel had no room for, so far"),
        ("http.method", "http: required; httpresponse: its request's"),
        ("http.uri", "http: required; httpresponse: its request's"),
        ("http.host", "http, httpresponse: the request's Host header"),
        ("http.user_agent", "http, httpresponse: the request's User-Agent header"),
        ("http.status", "httpresponse: required, the status code"),
        ("http.content_type", "httpresponse: the Content-Type header"),
        ("dns.qname", "dns: required, the question's name"),
        ("dns.qtype", "dns: the question's type (default A)"),
        ("dns.rcode", "dns: the answer's outcome (default NOERROR)"),
        ("dns.is_response", "dns: true for an answer (default false)"),
        ("tls.sni", "tls: the ClientHello's server name"),
        ("mysql.query", "mysql: required, the SQL text"),
        ("mysql.query_truncated", "mysql: true when the text was cut (default false)"),
        ("mysql.user", "mysql: the user the connection logged in as"),
        ("peer.container.id", "messages: the container at the other end, when its veth carried the message too"),
    ]

    private static let allowedKeys = recordedKeys.map(\.key)
    private static let allowedKeySet = Set(allowedKeys)
    private static let derivedKeys: Set<String> = [
        "proc.pname", "proc.pexepath", "proc.pcmdline", "proc.cmdline", "proc.exe", "proc.aname", "proc.apid",
        "container.full_id", "container.image.repository", "container.image.tag",
        "fd.directory", "fd.filename", "evt.is_open_read", "evt.is_open_write", "evt.rawtime", "proc.is_exe_written",
    ]

    /// The keys only a container event carries.
    private static let containerKeys = ["container.name", "container.image", "container.image.id", "container.privileged", "container.start_ts", "container.mounts", "container.labels", "container.removed"]

    /// Decodes one line of a recording (line numbers count from 1); blank lines give nil and no error.
    public static func decodeLine(_ bytes: [UInt8], file: String, line: Int, diagnostics: Diagnostics) -> Event? {
        guard !isBlank(bytes) else { return nil }
        guard let cursor = diagnostics.take(JSONSource(name: file, bytes: bytes, firstLine: line).parse()) else { return nil }
        return decode(cursor, diagnostics: diagnostics)
    }

    public static func isBlank(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
    }

    /// Decodes one recorded event; every problem in it is added to `diagnostics`.
    public static func decode(_ cursor: JSONCursor, diagnostics: Diagnostics) -> Event? {
        guard case .object(let members) = cursor.node.value else {
            diagnostics.add(cursor.diagnostic("expected an event object, found \(cursor.node.kindName)"))
            return nil
        }
        let problemsBefore = diagnostics.all.count
        var reader = Reader(object: JSONObjectCursor(cursor: cursor, members: members), diagnostics: diagnostics)
        // An argument of a captured call is checked once the event's type is known.
        for member in members where !allowedKeySet.contains(member.key) && argumentName(member.key) == nil {
            let message: String
            if derivedKeys.contains(member.key) {
                message = "\"\(member.key)\" is derived by the engine from its tables and is not recorded"
            } else if member.key == "fd.dip" || member.key == "fd.dport" {
                // Before sentinel took Falco's meanings, fd.sip was the client: refuse rather than swap the ends.
                message = "recorded with the old names, in which fd.sip was the client: rename fd.sip to fd.cip, fd.sport to fd.cport, "
                    + "then fd.dip to fd.sip and fd.dport to fd.sport (README, \"Recorded events\")"
            } else if let suggestion = closestMatch(to: member.key, among: allowedKeys) {
                message = "unknown key \"\(member.key)\" (did you mean \"\(suggestion)\"?)"
            } else {
                message = "unknown key \"\(member.key)\""
            }
            diagnostics.add(Diagnostic(file: cursor.source.name, location: cursor.source.location(of: member.keyOffset),
                                       path: cursor.childPath(member.key), message: message))
        }

        guard let typeName = reader.string("evt.type", required: true) else { return nil }
        guard let eventType = EventType(name: typeName) else {
            var message = "unknown event type \"\(typeName)\""
            if let suggestion = closestMatch(to: typeName, among: EventType.allCases.map(\.name)) { message += " (did you mean \"\(suggestion)\"?)" }
            diagnostics.add(reader.object.optional("evt.type")!.diagnostic(message))
            return nil
        }
        let call = CapturedCall.call(of: eventType)
        for member in members where !allowedKeySet.contains(member.key) {
            guard let name = argumentName(member.key) else { continue }
            if let call, call.argumentIndex(named: name) != nil { continue }
            let message = if let call {
                "\(call.name) has no argument \"\(name)\" (its arguments: \(call.arguments.map(\.name).joined(separator: ", ")))"
            } else {
                "\(typeName) events have no argument \"\(name)\""
            }
            diagnostics.add(Diagnostic(file: cursor.source.name, location: cursor.source.location(of: member.keyOffset),
                                       path: cursor.childPath(member.key), message: message))
        }
        let time = reader.time()
        let containerID = reader.string("container.id")
        if eventType != .container, let key = Self.containerKeys.first(where: { reader.has($0) }) {
            diagnostics.add(cursor.diagnostic("\(key) belongs in a container event; process events name only container.id"))
        }

        var event: Event
        if eventType == .container {
            guard let id = containerID ?? reader.missing("container.id") else { return nil }
            event = Event(type: .container, time: time ?? 0, pid: 0, containerID: id,
                          payload: .container(reader.containerFacts()))
        } else if eventType == .boscepoch {
            guard let id = containerID ?? reader.missing("container.id"),
                  let epoch = reader.integer("bosc.epoch", required: true), let calls = reader.integer("bosc.calls", required: true),
                  let mismatches = reader.integer("bosc.mismatches", required: true) else { return nil }
            let bags = reader.numberArrays("bosc.unknown_bags") ?? []
            var training: BoSCEpoch.TrainingFigures?
            if let norm = reader.integer("bosc.training_norm") {
                training = BoSCEpoch.TrainingFigures(
                    normSquared: UInt64(clamping: norm), previousNormSquared: UInt64(clamping: reader.integer("bosc.training_previous_norm", required: true) ?? 0),
                    dot: UInt64(clamping: reader.integer("bosc.training_dot", required: true) ?? 0),
                    droppedBags: UInt64(clamping: reader.integer("bosc.training_dropped_bags") ?? 0))
            }
            var judged = BoSCEpoch(epoch: epoch, calls: calls, mismatches: mismatches, complete: reader.bool("bosc.complete") ?? true,
                                   unknownBags: bags.map { $0.map { UInt16(clamping: $0) } }, training: training)
            judged.unseenMismatches = reader.integer("bosc.unseen_mismatches") ?? 0
            event = Event(type: .boscepoch, time: time ?? 0, pid: reader.integer("proc.pid") ?? 0, tid: reader.integer("proc.tid"), containerID: id,
                          payload: .boscEpoch(judged))
        } else if EventType.messages.contains(eventType) {
            guard let connection = reader.connection(for: eventType), let message = reader.message(for: eventType) else { return nil }
            event = Event(type: eventType, time: time ?? 0, pid: reader.integer("proc.pid") ?? 0, containerID: containerID,
                          payload: .message(connection, message))
        } else {
            guard let pid = reader.integer("proc.pid", required: true) else { return nil }
            var facts = ProcessFacts(name: reader.string("proc.name"), exePath: reader.string("proc.exepath"),
                                     args: reader.strings("proc.args"), cwd: reader.string("proc.cwd"),
                                     uid: reader.integer("user.uid"), gid: reader.integer("group.gid"), euid: reader.integer("user.euid"),
                                     userName: reader.string("user.name"), tty: reader.integer("proc.tty"),
                                     vpid: reader.integer("proc.vpid"), exeFromMemfd: reader.bool("proc.is_exe_from_memfd"),
                                     loginUID: reader.integer("user.loginuid"), capEffective: reader.capabilities("thread.cap_effective"),
                                     capPermitted: reader.capabilities("thread.cap_permitted"),
                                     argsTruncated: reader.bool("proc.args_truncated"))
            facts.sid = reader.integer("proc.sid")
            facts.exeUpperLayer = reader.bool("proc.is_exe_upper_layer")
            facts.exeInode = reader.integer("proc.exe_ino")
            facts.groupName = reader.string("group.name")
            facts.environment = reader.strings("proc.env")
            if let uid = reader.integer("evt.after.user.uid") {
                facts.credentialsAfter = ProcessFacts.Credentials(uid: uid, euid: reader.integer("evt.after.user.euid"), gid: reader.integer("evt.after.group.gid"),
                                                                  capEffective: reader.capabilities("evt.after.thread.cap_effective"),
                                                                  capPermitted: reader.capabilities("evt.after.thread.cap_permitted"))
            }
            facts.exeChangeTime = reader.time("proc.exe_ino.ctime")
            facts.exeModifyTime = reader.time("proc.exe_ino.mtime")
            facts.vpgid = reader.integer("proc.vpgid")
            event = Event(type: eventType, time: time ?? 0, pid: pid, tid: reader.integer("proc.tid"), ppid: reader.integer("proc.ppid"),
                          containerID: containerID, process: facts, payload: payload(for: eventType, &reader) ?? .none)
        }
        return diagnostics.all.count == problemsBefore ? event : nil
    }

    private static func payload(for type: EventType, _ reader: inout Reader) -> Event.Payload? {
        switch type {
        case .procexit:
            return .exit(status: reader.integer("evt.arg.status") ?? 0)
        case .syscall:
            return reader.integer("syscall.nr", required: true).map { .syscall(number: $0) }
        case .open, .openat, .openat2:
            guard let path = reader.string("fd.name", required: true) else { return nil }
            let mode = UInt32(truncatingIfNeeded: max(0, min(reader.integer("evt.arg.mode") ?? 0, 0o7777)))
            return .open(path: path, flags: reader.openFlags(), result: reader.integer("evt.rawres") ?? 0, given: reader.string("fd.nameraw"), mode: mode)
        case .connect, .accept, .listen, .close, .segment:
            return reader.connection(for: type).map { .socket($0) }
        default:
            if let call = CapturedCall.call(of: type) { return reader.call(call) }
            // Exec, clone and procinfo carry only process facts; container, epoch and message
            // events are read whole above.
            return Event.Payload.none
        }
    }

    static let argumentPrefix = "evt.arg.", rawArgumentPrefix = "evt.rawarg."

    /// NAME of evt.arg.NAME or evt.rawarg.NAME.
    private static func argumentName(_ key: String) -> String? {
        if key.hasPrefix(argumentPrefix) { return String(key.dropFirst(argumentPrefix.count)) }
        if key.hasPrefix(rawArgumentPrefix) { return String(key.dropFirst(rawArgumentPrefix.count)) }
        return nil
    }

    /// Reads typed values by key, reporting each mismatch at its value.
    private struct Reader {
        let object: JSONObjectCursor
        let diagnostics: Diagnostics

        init(object: JSONObjectCursor, diagnostics: Diagnostics) {
            self.object = object
            self.diagnostics = diagnostics
        }

        func has(_ key: String) -> Bool { object.members.contains { $0.key == key } }

        func missing<T>(_ key: String) -> T? {
            diagnostics.add(object.cursor.diagnostic("missing required key \"\(key)\""))
            return nil
        }

        func string(_ key: String, required: Bool = false) -> String? {
            guard let value = object.optional(key) else { return required ? missing(key) : nil }
            return value.string(diagnostics)
        }

        func integer(_ key: String, required: Bool = false) -> Int64? {
            guard let value = object.optional(key) else { return required ? missing(key) : nil }
            return value.integer(diagnostics)
        }

        func bool(_ key: String) -> Bool? {
            object.optional(key)?.bool(diagnostics)
        }

        func strings(_ key: String) -> [String]? {
            object.optional(key)?.stringArray(diagnostics)
        }

        /// An array of arrays of numbers from 0 to 65535 (call numbers).
        func numberArrays(_ key: String) -> [[Int64]]? {
            object.optional(key)?.array(diagnostics)?.compactMap { inner in
                inner.array(diagnostics)?.compactMap { $0.integer(diagnostics, in: 0...65_535) }
            }
        }

        /// A time at `key`: nanoseconds since the epoch, or ISO 8601; evt.time is required.
        func time(_ key: String = "evt.time") -> UInt64? {
            guard let value = object.optional(key) else { return key == "evt.time" ? missing(key) : nil }
            switch value.node.value {
            case .integer(let nanoseconds) where nanoseconds >= 0:
                return UInt64(nanoseconds)
            case .string(let text):
                if let nanoseconds = parseISO8601(text) { return nanoseconds }
                diagnostics.add(value.diagnostic("\"\(text)\" is not an ISO 8601 time (2026-11-22T14:04:24.5Z)"))
            default:
                diagnostics.add(value.diagnostic("expected nanoseconds since the epoch or an ISO 8601 string, found \(value.node.kindName)"))
            }
            return nil
        }

        /// Capabilities by name ("CAP_CHOWN CAP_NET_RAW"), as bits.
        func capabilities(_ key: String) -> UInt64? {
            guard let text = string(key) else { return nil }
            var bits: UInt64 = 0
            for name in text.split(separator: " ") {
                guard let bit = capabilityBit(named: String(name)) else {
                    diagnostics.add(object.optional(key)!.diagnostic("\"\(name)\" is not a capability (CAP_CHOWN, CAP_SYS_ADMIN...)"))
                    return nil
                }
                bits |= 1 << UInt64(bit)
            }
            return bits
        }

        /// A container event's facts.
        func containerFacts() -> ContainerFacts {
            var labels: [String: String] = [:]
            if let value = object.optional("container.labels") {
                if case .object(let members) = value.node.value {
                    for member in members {
                        guard case .string(let text) = member.value.value else {
                            diagnostics.add(value.diagnostic("label \"\(member.key)\" is not a string"))
                            continue
                        }
                        labels[member.key] = text
                    }
                } else {
                    diagnostics.add(value.diagnostic("expected the labels as an object of strings"))
                }
            }
            let mounts = (strings("container.mounts") ?? []).compactMap { text -> ContainerFacts.Mount? in
                guard let mount = ContainerFacts.Mount(text: text) else {
                    diagnostics.add(object.optional("container.mounts")!.diagnostic("\"\(text)\" is not source:dest:mode:rdwr:propagation (rdwr true or false)"))
                    return nil
                }
                return mount
            }
            return ContainerFacts(name: string("container.name") ?? "", image: string("container.image") ?? "",
                                  imageID: string("container.image.id") ?? "", labels: labels,
                                  privileged: bool("container.privileged") ?? false, startTime: time("container.start_ts"), mounts: mounts,
                                  removed: bool("container.removed") ?? false)
        }

        /// A captured call's arguments: numbers (flags also by name), texts for string arguments.
        func call(_ call: CapturedCall) -> Event.Payload? {
            var values = [UInt64](repeating: 0, count: call.arguments.count)
            var texts = [String?](repeating: nil, count: call.arguments.count)
            var paths = [String?](repeating: nil, count: call.arguments.count)
            var address: Endpoint?
            for (index, argument) in call.arguments.enumerated() {
                guard let value = object.optional(argumentPrefix + argument.name) else { continue }
                switch argument.kind {
                case .text:
                    texts[index] = value.string(diagnostics)
                case .path, .relativePath:
                    let shown = value.string(diagnostics)
                    texts[index] = string(rawArgumentPrefix + argument.name) ?? shown
                    paths[index] = shown.flatMap { $0.hasPrefix("/") ? absolutePath($0, in: "/") : nil }
                case .flags(let names), .choice(let names):
                    if case .string(let text) = value.node.value {
                        guard let parsed = names.value(of: text) else {
                            diagnostics.add(value.diagnostic("\"\(text)\" is not made of \(argument.name)'s names (\(names.names.map(\.name).joined(separator: ", ")))"))
                            continue
                        }
                        values[index] = parsed
                    } else if let number = value.integer(diagnostics) {
                        values[index] = UInt64(bitPattern: number)
                    }
                case .number, .int, .id, .fd, .descriptor:
                    if let number = value.integer(diagnostics) { values[index] = UInt64(bitPattern: number) }
                case .address, .messageHeader:
                    guard case .string(let text) = value.node.value else { continue }
                    guard let endpoint = Endpoint(text: text) else {
                        diagnostics.add(value.diagnostic("\"\(text)\" is not an address and port (10.0.0.5:53, [fd00::5]:53)"))
                        continue
                    }
                    address = endpoint
                }
            }
            let described = call.descriptorIndex.map { descriptor(number: call.number(of: $0, in: CallArguments(values: values, texts: texts, result: 0))) }
            var arguments = CallArguments(values: values, texts: texts, paths: paths, result: integer("evt.rawres") ?? 0, descriptor: described)
            arguments.address = address
            return .call(arguments)
        }

        /// The file open at a call's descriptor: none when fd.type is absent.
        func descriptor(number: Int64) -> Descriptor {
            guard let typeName = string("fd.type") else { return Descriptor(number: number, kind: nil) }
            guard let kind = Descriptor.Kind(rawValue: typeName) else {
                diagnostics.add(object.optional("fd.type")!.diagnostic("\"\(typeName)\" is not a descriptor type (\(Descriptor.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"))
                return Descriptor(number: number, kind: nil)
            }
            return Descriptor(number: number, kind: kind, name: string("fd.name"), inode: UInt64(bitPattern: integer("fd.ino") ?? 0),
                              local: endpoint(address: "fd.lip", port: "fd.lport", required: false),
                              remote: endpoint(address: "fd.rip", port: "fd.rport", required: false), l4proto: string("fd.l4proto"))
        }

        func openFlags() -> OpenFlags {
            guard let value = object.optional("evt.arg.flags") else { return [] }
            switch value.node.value {
            case .integer(let raw) where raw >= 0 && raw <= Int64(UInt32.max):
                return OpenFlags(rawValue: UInt32(raw))
            case .string(let text):
                if let flags = OpenFlags(names: text) { return flags }
                diagnostics.add(value.diagnostic("\"\(text)\" is not a list of open flags such as \"O_WRONLY|O_CREAT\""))
            default:
                diagnostics.add(value.diagnostic("expected open flags as a number or a string such as \"O_WRONLY|O_CREAT\""))
            }
            return []
        }

        func endpoint(address addressKey: String, port portKey: String, required: Bool) -> Endpoint? {
            guard has(addressKey) || has(portKey) || required else { return nil }
            guard let text = string(addressKey, required: true) else { return nil }
            guard let address = IPAddress(text) else {
                diagnostics.add(object.optional(addressKey)!.diagnostic("\"\(text)\" is not an IPv4 or IPv6 address"))
                return nil
            }
            guard let port = integer(portKey, required: true) else { return nil }
            guard (0...65535).contains(port) else {
                diagnostics.add(object.optional(portKey)!.diagnostic("port \(port) is out of range 0...65535"))
                return nil
            }
            return Endpoint(address: address, port: UInt16(port))
        }

        func message(for type: EventType) -> ApplicationMessage? {
            func request(required: Bool) -> HTTPRequestHead? {
                guard required || has("http.method") || has("http.uri") else { return nil }
                guard let method = string("http.method", required: true), let uri = string("http.uri", required: true) else { return nil }
                return HTTPRequestHead(method: method, uri: uri, host: string("http.host"), userAgent: string("http.user_agent"))
            }
            switch type {
            case .http:
                return request(required: true).map { .httpRequest($0) }
            case .httpresponse:
                guard let status = integer("http.status", required: true) else { return nil }
                return .httpResponse(HTTPResponseHead(status: Int(status), contentType: string("http.content_type")), request: request(required: false))
            case .dns:
                guard let name = string("dns.qname", required: true) else { return nil }
                return .dns(DNSQuestion(isResponse: bool("dns.is_response") ?? false, name: name, type: string("dns.qtype") ?? "A",
                                        rcode: string("dns.rcode") ?? "NOERROR"))
            case .tls:
                return .tlsClientHello(serverName: string("tls.sni"))
            default:
                guard let query = string("mysql.query", required: true) else { return nil }
                return .mysqlQuery(query, truncated: bool("mysql.query_truncated") ?? false, user: string("mysql.user"))
            }
        }

        func connection(for type: EventType) -> Connection? {
            var direction: Connection.Direction = type == .connect ? .outbound : .inbound
            if let text = string("fd.direction") {
                guard let parsed = Connection.Direction(rawValue: text) else {
                    diagnostics.add(object.optional("fd.direction")!.diagnostic("expected outbound or inbound, found \"\(text)\""))
                    return nil
                }
                direction = parsed
            }
            let l4proto = string("fd.l4proto") ?? "tcp"
            guard l4proto == "tcp" || l4proto == "udp" else {
                diagnostics.add(object.optional("fd.l4proto")!.diagnostic("expected tcp or udp, found \"\(l4proto)\""))
                return nil
            }
            let source = endpoint(address: "fd.cip", port: "fd.cport", required: type != .listen)
            guard let destination = endpoint(address: "fd.sip", port: "fd.sport", required: true) else { return nil }
            var traffic: Traffic?
            let counters = ["fd.bytes_in", "fd.bytes_out", "fd.segs_in", "fd.segs_out"].map { key in integer(key).map { UInt64(max($0, 0)) } }
            if counters.contains(where: { $0 != nil }) {
                traffic = Traffic(bytesIn: counters[0] ?? 0, bytesOut: counters[1] ?? 0, segmentsIn: counters[2] ?? 0, segmentsOut: counters[3] ?? 0)
            }
            var segment: TCPSegment?
            if type == .segment {
                var flags = TCPFlags()
                if let text = string("tcp.flags") {
                    guard let parsed = TCPFlags(text: text) else {
                        diagnostics.add(object.optional("tcp.flags")!.diagnostic("expected TCP flags such as \"SYN,ACK\", found \"\(text)\""))
                        return nil
                    }
                    flags = parsed
                }
                let number = { (key: String) in UInt32(truncatingIfNeeded: max(integer(key) ?? 0, 0)) }
                segment = TCPSegment(flags: flags, sequence: number("tcp.seq"), acknowledgement: number("tcp.ack"), payloadLength: number("tcp.len"))
            }
            return Connection(l4proto: l4proto, direction: direction, source: source, destination: destination,
                              result: integer("evt.rawres") ?? 0, traffic: traffic, segment: segment,
                              peerContainerID: EventType.messages.contains(type) ? string("peer.container.id") : nil)
        }
    }

    // MARK: - Encoding

    /// One event as a line of the recording format (no newline).
    public static func encode(_ event: Event) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("evt.type"); writer.string(event.type.name)
        writer.key("evt.time"); writer.integer(event.time)
        if let containerID = event.containerID { writer.key("container.id"); writer.string(containerID) }
        if case .container(let facts) = event.payload {
            writer.key("container.name"); writer.string(facts.name)
            writer.key("container.image"); writer.string(facts.image)
            if !facts.imageID.isEmpty { writer.key("container.image.id"); writer.string(facts.imageID) }
            if facts.privileged { writer.key("container.privileged"); writer.bool(true) }
            if let startTime = facts.startTime { writer.key("container.start_ts"); writer.integer(Int64(bitPattern: startTime)) }
            if !facts.mounts.isEmpty {
                writer.key("container.mounts")
                writer.beginArray()
                for mount in facts.mounts { writer.string(mount.text) }
                writer.endArray()
            }
            if !facts.labels.isEmpty {
                writer.key("container.labels")
                writer.beginObject()
                for (key, value) in facts.labels.sorted(by: { $0.key < $1.key }) { writer.key(key); writer.string(value) }
                writer.endObject()
            }
            if facts.removed { writer.key("container.removed"); writer.bool(true) }
            writer.endObject()
            return writer.text
        }
        if case .message(let connection, let message) = event.payload {
            if event.pid != 0 { writer.key("proc.pid"); writer.integer(event.pid) }
            writeConnection(connection, to: &writer)
            writeMessage(message, to: &writer)
            writer.endObject()
            return writer.text
        }
        writer.key("proc.pid"); writer.integer(event.pid)
        if event.tid != event.pid { writer.key("proc.tid"); writer.integer(event.tid) }
        if let ppid = event.ppid { writer.key("proc.ppid"); writer.integer(ppid) }
        let facts = event.process
        if let name = facts.name { writer.key("proc.name"); writer.string(name) }
        if let exePath = facts.exePath { writer.key("proc.exepath"); writer.string(exePath) }
        if let args = facts.args {
            writer.key("proc.args")
            writer.beginArray()
            for argument in args { writer.string(argument) }
            writer.endArray()
        }
        if let environment = facts.environment {
            writer.key("proc.env")
            writer.beginArray()
            for variable in environment { writer.string(variable) }
            writer.endArray()
        }
        if let cwd = facts.cwd { writer.key("proc.cwd"); writer.string(cwd) }
        if let tty = facts.tty { writer.key("proc.tty"); writer.integer(tty) }
        if let vpid = facts.vpid { writer.key("proc.vpid"); writer.integer(vpid) }
        if let sid = facts.sid { writer.key("proc.sid"); writer.integer(sid) }
        if let vpgid = facts.vpgid { writer.key("proc.vpgid"); writer.integer(vpgid) }
        if facts.exeFromMemfd == true { writer.key("proc.is_exe_from_memfd"); writer.bool(true) }
        if facts.exeUpperLayer == true { writer.key("proc.is_exe_upper_layer"); writer.bool(true) }
        if let inode = facts.exeInode { writer.key("proc.exe_ino"); writer.integer(inode) }
        if let after = facts.credentialsAfter {
            writer.key("evt.after.user.uid"); writer.integer(after.uid)
            if let euid = after.euid { writer.key("evt.after.user.euid"); writer.integer(euid) }
            if let gid = after.gid { writer.key("evt.after.group.gid"); writer.integer(gid) }
            if let bits = after.capEffective { writer.key("evt.after.thread.cap_effective"); writer.string(capabilityNames(bits)) }
            if let bits = after.capPermitted { writer.key("evt.after.thread.cap_permitted"); writer.string(capabilityNames(bits)) }
        }
        if let time = facts.exeChangeTime { writer.key("proc.exe_ino.ctime"); writer.integer(Int64(bitPattern: time)) }
        if let time = facts.exeModifyTime { writer.key("proc.exe_ino.mtime"); writer.integer(Int64(bitPattern: time)) }
        if let loginUID = facts.loginUID { writer.key("user.loginuid"); writer.integer(loginUID) }
        if let bits = facts.capEffective { writer.key("thread.cap_effective"); writer.string(capabilityNames(bits)) }
        if let bits = facts.capPermitted { writer.key("thread.cap_permitted"); writer.string(capabilityNames(bits)) }
        if let argsTruncated = facts.argsTruncated { writer.key("proc.args_truncated"); writer.bool(argsTruncated) }
        if let uid = facts.uid { writer.key("user.uid"); writer.integer(uid) }
        if let euid = facts.euid { writer.key("user.euid"); writer.integer(euid) }
        if let userName = facts.userName { writer.key("user.name"); writer.string(userName) }
        if let groupName = facts.groupName { writer.key("group.name"); writer.string(groupName) }
        if let gid = facts.gid { writer.key("group.gid"); writer.integer(gid) }
        switch event.payload {
        case .none, .container, .message:
            break
        case .exit(let status):
            writer.key("evt.arg.status"); writer.integer(status)
        case .call(let arguments):
            guard let call = CapturedCall.call(of: event.type) else { break }
            for (index, argument) in call.arguments.enumerated() {
                if argument.kind.isString {
                    let text = arguments.texts[index], path = argument.kind == .text ? nil : arguments.paths[index]
                    if let shown = path ?? text { writer.key(argumentPrefix + argument.name); writer.string(shown) }
                    if let text, path != nil, text != path { writer.key(rawArgumentPrefix + argument.name); writer.string(text) }
                } else {
                    writer.key(argumentPrefix + argument.name)
                    if argument.kind == .address, let address = arguments.address { writer.string(address.text) } else { writer.integer(call.number(of: index, in: arguments)) }
                }
            }
            writer.key("evt.rawres"); writer.integer(arguments.result)
            if let descriptor = arguments.descriptor, let kind = descriptor.kind { writeDescriptor(descriptor, kind: kind, to: &writer) }
        case .syscall(let number):
            writer.key("syscall.nr"); writer.integer(number)
        case .boscEpoch(let epoch):
            writer.key("bosc.epoch"); writer.integer(epoch.epoch)
            writer.key("bosc.calls"); writer.integer(epoch.calls)
            writer.key("bosc.mismatches"); writer.integer(epoch.mismatches)
            writer.key("bosc.unseen_mismatches"); writer.integer(epoch.unseenMismatches)
            writer.key("bosc.complete"); writer.bool(epoch.complete)
            writer.key("bosc.unknown_bags")
            writer.beginArray()
            for bag in epoch.unknownBags {
                writer.beginArray()
                for call in bag { writer.integer(call) }
                writer.endArray()
            }
            writer.endArray()
            if let training = epoch.training {
                writer.key("bosc.training_norm"); writer.integer(Int64(clamping: training.normSquared))
                writer.key("bosc.training_previous_norm"); writer.integer(Int64(clamping: training.previousNormSquared))
                writer.key("bosc.training_dot"); writer.integer(Int64(clamping: training.dot))
                writer.key("bosc.training_dropped_bags"); writer.integer(Int64(clamping: training.droppedBags))
            }
        case .open(let path, let flags, let result, let given, let mode):
            writer.key("fd.name"); writer.string(path)
            if let given { writer.key("fd.nameraw"); writer.string(given) }
            writer.key("evt.arg.flags"); writer.string(flags.description)
            if mode != 0 { writer.key("evt.arg.mode"); writer.integer(mode) }
            writer.key("evt.rawres"); writer.integer(result)
        case .socket(let connection):
            writeConnection(connection, to: &writer)
        }
        writer.endObject()
        return writer.text
    }

    private static func writeDescriptor(_ descriptor: Descriptor, kind: Descriptor.Kind, to writer: inout JSONWriter) {
        writer.key("fd.type"); writer.string(kind.rawValue)
        if let name = descriptor.name { writer.key("fd.name"); writer.string(name) }
        if descriptor.inode != 0 { writer.key("fd.ino"); writer.integer(Int64(bitPattern: descriptor.inode)) }
        if let l4proto = descriptor.l4proto { writer.key("fd.l4proto"); writer.string(l4proto) }
        for (end, address, port) in [(descriptor.local, "fd.lip", "fd.lport"), (descriptor.remote, "fd.rip", "fd.rport")] {
            guard let end else { continue }
            writer.key(address); writer.string(end.address.description)
            writer.key(port); writer.integer(end.port)
        }
    }

    private static func writeConnection(_ connection: Connection, to writer: inout JSONWriter) {
        writer.key("fd.l4proto"); writer.string(connection.l4proto)
        writer.key("fd.direction"); writer.string(connection.direction.rawValue)
        if let source = connection.source {
            writer.key("fd.cip"); writer.string(source.address.description)
            writer.key("fd.cport"); writer.integer(source.port)
        }
        writer.key("fd.sip"); writer.string(connection.destination.address.description)
        writer.key("fd.sport"); writer.integer(connection.destination.port)
        writer.key("evt.rawres"); writer.integer(connection.result)
        if let peer = connection.peerContainerID { writer.key("peer.container.id"); writer.string(peer) }
        if let traffic = connection.traffic {
            writer.key("fd.bytes_in"); writer.integer(traffic.bytesIn)
            writer.key("fd.bytes_out"); writer.integer(traffic.bytesOut)
            writer.key("fd.segs_in"); writer.integer(traffic.segmentsIn)
            writer.key("fd.segs_out"); writer.integer(traffic.segmentsOut)
        }
        if let segment = connection.segment {
            writer.key("tcp.flags"); writer.string(segment.flags.description)
            writer.key("tcp.seq"); writer.integer(segment.sequence)
            writer.key("tcp.ack"); writer.integer(segment.acknowledgement)
            writer.key("tcp.len"); writer.integer(segment.payloadLength)
        }
    }

    private static func writeMessage(_ message: ApplicationMessage, to writer: inout JSONWriter) {
        func optional(_ key: String, _ value: String?) {
            guard let value else { return }
            writer.key(key)
            writer.string(value)
        }
        func writeRequest(_ request: HTTPRequestHead?) {
            guard let request else { return }
            writer.key("http.method"); writer.string(request.method)
            writer.key("http.uri"); writer.string(request.uri)
            optional("http.host", request.host)
            optional("http.user_agent", request.userAgent)
        }
        switch message {
        case .httpRequest(let request):
            writeRequest(request)
        case .httpResponse(let response, let request):
            writer.key("http.status"); writer.integer(Int64(response.status))
            optional("http.content_type", response.contentType)
            writeRequest(request)
        case .dns(let question):
            writer.key("dns.qname"); writer.string(question.name)
            writer.key("dns.qtype"); writer.string(question.type)
            writer.key("dns.rcode"); writer.string(question.rcode)
            writer.key("dns.is_response"); writer.bool(question.isResponse)
        case .tlsClientHello(let serverName):
            optional("tls.sni", serverName)
        case .mysqlQuery(let query, let truncated, let user):
            writer.key("mysql.query"); writer.string(query)
            writer.key("mysql.query_truncated"); writer.bool(truncated)
            optional("mysql.user", user)
        }
    }
}
