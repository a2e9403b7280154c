import CLibbpf
import Engine

/// One ring-buffer record (the layouts of bpf/include/records.h) as an `Event`. Lengths written by
/// the kernel are checked against the record's size before any byte is read.
struct RecordDecoder {
    let record: UnsafeRawPointer
    let size: Int
    let header: sentinel_header
    let time: UInt64
    let containerID: String?

    /// Every record kind of records.h, with its name in the statistics line. The kinds that are
    /// not made into events here (system-call batches, BoSC's) are the sensor's and BoSC's.
    static let kindNames: [UInt32: String] = [
        SENTINEL_RECORD_EXEC.rawValue: "exec", SENTINEL_RECORD_FORK.rawValue: "fork", SENTINEL_RECORD_EXIT.rawValue: "exit",
        SENTINEL_RECORD_OPEN.rawValue: "open", SENTINEL_RECORD_CONNECT.rawValue: "connect", SENTINEL_RECORD_ACCEPT.rawValue: "accept",
        SENTINEL_RECORD_LISTEN.rawValue: "listen", SENTINEL_RECORD_TCP_CLOSE.rawValue: "tcp_close", SENTINEL_RECORD_SYSCALLS.rawValue: "syscalls",
        SENTINEL_RECORD_TCP_SEGMENT.rawValue: "segment", SENTINEL_RECORD_BOSC_UNKNOWN_BAG.rawValue: "bosc_unknown_bag",
        SENTINEL_RECORD_BOSC_EPOCH.rawValue: "bosc_epoch", SENTINEL_RECORD_CALL.rawValue: "call",
        SENTINEL_RECORD_BOSC_TRAINING_EPOCH.rawValue: "bosc_training_epoch",
    ]

    static func kindName(_ kind: UInt32) -> String { kindNames[kind] ?? "kind\(kind)" }

    private static let syscallOpen: UInt32 = 2, syscallOpenat: UInt32 = 257, syscallOpenat2: UInt32 = 437
    private static let inet6: UInt16 = 10, tcp: UInt16 = 6, udp: UInt16 = 17

    func event() -> Event? {
        switch header.kind {
        case SENTINEL_RECORD_EXEC.rawValue: return exec()
        case SENTINEL_RECORD_FORK.rawValue: return fork()
        case SENTINEL_RECORD_EXIT.rawValue: return exit()
        case SENTINEL_RECORD_OPEN.rawValue: return open()
        case SENTINEL_RECORD_CONNECT.rawValue: return socket(.connect)
        case SENTINEL_RECORD_ACCEPT.rawValue: return socket(.accept)
        case SENTINEL_RECORD_LISTEN.rawValue: return socket(.listen)
        case SENTINEL_RECORD_TCP_CLOSE.rawValue: return socket(.close)
        case SENTINEL_RECORD_TCP_SEGMENT.rawValue: return segment()
        case SENTINEL_RECORD_CALL.rawValue: return call()
        default: return nil
        }
    }

    private func base(_ type: EventType, ppid: Int64? = nil, process: ProcessFacts = ProcessFacts(), payload: Event.Payload = .none) -> Event {
        Event(type: type, time: time, pid: Int64(header.pid), tid: Int64(header.tid), ppid: ppid,
              containerID: containerID, process: process, payload: payload)
    }

    private func exec() -> Event? {
        guard size >= MemoryLayout<sentinel_exec>.size else { return nil }
        let exec = record.loadUnaligned(as: sentinel_exec.self)
        guard exec.path_len <= SENTINEL_PATH_MAX, exec.args_len <= SENTINEL_ARGS_MAX else { return nil }
        guard exec.exe_len < Int32(SENTINEL_PATH_MAX) else { return nil }
        // The executable the kernel opened, walked to the root: what `./tool`, a symlink or
        // /dev/fd/3 stood for. A memfd's is "/memfd:NAME", and it has no link.
        let given = text(at: \sentinel_exec.path, length: Int(exec.path_len))
        let opened = exec.exe_len >= 0 ? text(at: \sentinel_exec.exe, length: Int(exec.exe_len)) : nil
        let fromMemfd = exec.exe_links == 0 && opened?.hasPrefix("/memfd:") == true
        let path = opened ?? given
        let args = strings(bytes(at: \sentinel_exec.args, length: Int(exec.args_len)))
        // A program that runs itself again through /proc/self/exe (busybox's shell running an
        // applet, runc) gets the kernel name "exe"; argv[0] says what it is being run as.
        var name = text(at: \sentinel_exec.comm, length: nil)
        if given == "/proc/self/exe", let first = args.first, !first.isEmpty {
            name = String(first.split(separator: "/").last ?? Substring(first))
        }
        var facts = ProcessFacts(
            name: name, exePath: path, args: args,
            uid: Int64(exec.uid), gid: Int64(exec.gid), euid: Int64(exec.euid), tty: Int64(exec.tty), vpid: Int64(exec.vpid),
            exeFromMemfd: fromMemfd, loginUID: Int64(Int32(bitPattern: exec.loginuid)),
            capEffective: exec.cap_effective, capPermitted: exec.cap_permitted, argsTruncated: header.flags & SENTINEL_FLAG_ARGS_TRUNCATED.rawValue != 0)
        facts.exeUpperLayer = exec.exe_upper_layer != 0
        facts.exeInode = Int64(bitPattern: exec.exe_ino)
        if exec.exe_ctime != 0 { facts.exeChangeTime = exec.exe_ctime }
        if exec.exe_mtime != 0 { facts.exeModifyTime = exec.exe_mtime }
        if exec.vsid != 0 { facts.sid = Int64(exec.vsid) }
        // Sent with the environment when a rule reads proc.env.
        if size >= MemoryLayout<sentinel_exec_environment>.size {
            let withEnvironment = record.loadUnaligned(as: sentinel_exec_environment.self)
            guard withEnvironment.env_len <= SENTINEL_ENV_MAX else { return nil }
            facts.environment = strings(bytes(at: \sentinel_exec_environment.env, length: Int(withEnvironment.env_len)))
        }
        if exec.vpgid != 0 { facts.vpgid = Int64(exec.vpgid) }
        return base(exec.by_descriptor != 0 ? .execveat : .execve, ppid: Int64(exec.ppid), process: facts)
    }

    /// An exec or fork record's parent, by the name the kernel gave it then.
    var parentName: String? {
        let name: String
        switch header.kind {
        case SENTINEL_RECORD_EXEC.rawValue where size >= MemoryLayout<sentinel_exec>.size:
            name = text(at: \sentinel_exec.parent_comm, length: nil)
        case SENTINEL_RECORD_FORK.rawValue where size >= MemoryLayout<sentinel_fork>.size:
            name = text(at: \sentinel_fork.parent_comm, length: nil)
        default:
            return nil
        }
        return name.isEmpty ? nil : name
    }

    private func fork() -> Event? {
        guard size >= MemoryLayout<sentinel_fork>.size else { return nil }
        let fork = record.loadUnaligned(as: sentinel_fork.self)
        return base(.clone, ppid: Int64(fork.parent_pid))
    }

    private func exit() -> Event? {
        guard size >= MemoryLayout<sentinel_exit>.size else { return nil }
        let code = record.loadUnaligned(as: sentinel_exit.self).exit_code
        // wait(2)'s encoding: a signal's death reads as 128 + the signal, as shells report it.
        let signal = code & 0x7f
        return base(.procexit, payload: .exit(status: Int64(signal != 0 ? 128 + signal : (code >> 8) & 0xff)))
    }

    private func open() -> Event? {
        guard size >= MemoryLayout<sentinel_open>.size else { return nil }
        let open = record.loadUnaligned(as: sentinel_open.self)
        guard open.path_len <= SENTINEL_PATH_MAX else { return nil }
        let type: EventType
        switch open.syscall_nr {
        case Self.syscallOpen: type = .open
        case Self.syscallOpenat: type = .openat
        case Self.syscallOpenat2: type = .openat2
        default: return nil
        }
        guard open.base_len < Int32(SENTINEL_PATH_MAX) else { return nil }
        let given = text(at: \sentinel_open.path, length: Int(open.path_len))
        let directory = open.base_len >= 0 ? text(at: \sentinel_open.base, length: Int(open.base_len)) : nil
        let path = directory.map { absolutePath(given, in: $0) } ?? given
        let flags = OpenFlags(rawValue: open.open_flags)
        return base(type, payload: .open(path: path, flags: flags, result: open.result, given: path == given ? nil : given,
                                         // Only a creating open's mode means anything: the others' is whatever was in the register.
                                         mode: flags.createsFile ? open.mode & 0o7777 : 0))
    }

    private func socket(_ type: EventType) -> Event? {
        guard size >= MemoryLayout<sentinel_socket>.size else { return nil }
        let socket = record.loadUnaligned(as: sentinel_socket.self)
        let (local, remote) = endpoints(at: \sentinel_socket.ends)
        let outbound = socket.outbound != 0
        let traffic = type == .close
            ? Traffic(bytesIn: socket.bytes_in, bytesOut: socket.bytes_out, segmentsIn: socket.segments_in, segmentsOut: socket.segments_out)
            : nil
        let connection = Connection(
            l4proto: socket.ends.protocol == Self.udp ? "udp" : "tcp",
            direction: outbound ? .outbound : .inbound,
            source: type == .listen ? nil : (outbound ? local : remote),
            destination: outbound ? remote : local,
            result: socket.result, traffic: traffic)
        return base(type, payload: .socket(connection))
    }

    private static let capturedByNumber = Dictionary(uniqueKeysWithValues: CapturedCall.all.map { (UInt32($0.number), $0) })

    /// A captured system call: its arguments in its own order, the texts the kernel copied given
    /// to its string arguments in turn.
    private func call() -> Event? {
        guard size >= MemoryLayout<sentinel_call>.size else { return nil }
        let record = self.record.loadUnaligned(as: sentinel_call.self)
        guard let call = Self.capturedByNumber[record.nr] else { return nil }
        let registers = withUnsafeBytes(of: record.args) { Array($0.bindMemory(to: UInt64.self)) }
        let lengths = withUnsafeBytes(of: record.string_lengths) { Array($0.bindMemory(to: Int16.self)) }
        let baseLengths = withUnsafeBytes(of: record.base_lengths) { Array($0.bindMemory(to: Int16.self)) }
        var texts = [String?](repeating: nil, count: call.arguments.count)
        var paths = [String?](repeating: nil, count: call.arguments.count)
        var slot = 0
        for (index, argument) in call.arguments.enumerated() where argument.kind.isString && slot < lengths.count {
            guard lengths[slot] < Int16(SENTINEL_PATH_MAX), slot >= baseLengths.count || baseLengths[slot] < Int16(SENTINEL_PATH_MAX) else { return nil }
            let text = self.text(at: \sentinel_call.strings, slot: slot, length: Int(lengths[slot]))
            texts[index] = text
            if let text, argument.kind != .text {
                if text.hasPrefix("/") {
                    paths[index] = absolutePath(text, in: "/")
                } else if slot < baseLengths.count, let base = self.text(at: \sentinel_call.bases, slot: slot, length: Int(baseLengths[slot])) {
                    paths[index] = absolutePath(text, in: base)
                }
            }
            slot += 1
        }
        guard call.descriptorIndex == nil || record.fd.name_len < Int16(SENTINEL_PATH_MAX) else { return nil }
        var arguments = CallArguments(values: Array(registers.prefix(call.arguments.count)), texts: texts, paths: paths, result: record.result,
                                      truncated: header.flags & SENTINEL_FLAG_PATH_TRUNCATED.rawValue != 0,
                                      descriptor: call.descriptorIndex == nil ? nil : descriptor(record.fd))
        if call.addressIndex != nil, record.address_len > 0 { arguments.address = socketAddress(at: \sentinel_call.address) }
        var facts = ProcessFacts()
        facts.comm = text(at: \sentinel_call.comm, length: nil)
        // What a setuid or a capset left: the process's credentials from its next event on.
        let credentials = record.credentials
        if credentials.valid != 0 {
            facts.credentialsAfter = ProcessFacts.Credentials(uid: Int64(credentials.uid), euid: Int64(credentials.euid), gid: Int64(credentials.gid),
                                                              capEffective: credentials.cap_effective, capPermitted: credentials.cap_permitted)
        }
        return base(call.eventType, process: facts, payload: .call(arguments))
    }

    /// Source and destination are the segment's sender and receiver; direction says which is
    /// the container.
    private func segment() -> Event? {
        guard size >= MemoryLayout<sentinel_segment>.size else { return nil }
        let segment = record.loadUnaligned(as: sentinel_segment.self)
        let isV6 = segment.family == Self.inet6
        let connection = Connection(
            direction: segment.sent != 0 ? .outbound : .inbound,
            source: Endpoint(address: address(at: \sentinel_segment.source_addr, v6: isV6), port: segment.source_port),
            destination: Endpoint(address: address(at: \sentinel_segment.destination_addr, v6: isV6), port: segment.destination_port),
            segment: TCPSegment(flags: TCPFlags(rawValue: segment.tcp_flags), sequence: segment.sequence,
                                acknowledgement: segment.acknowledgement, payloadLength: segment.payload_len))
        return base(.segment, payload: .socket(connection))
    }

    // MARK: - Reading fields

    /// A NUL-separated list (argv, the environment), its last NUL included.
    private func strings(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var strings = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if strings.last == "" { strings.removeLast() }
        return strings
    }

    private func bytes<Root>(at field: KeyPath<Root, some Any>, length: Int) -> UnsafeRawBufferPointer {
        let offset = MemoryLayout<Root>.offset(of: field)!
        return UnsafeRawBufferPointer(start: record + offset, count: length)
    }

    /// The text at `field`: `length` bytes, or up to the first NUL when nil.
    private func text<Root, Field>(at field: KeyPath<Root, Field>, length: Int?) -> String {
        let all = bytes(at: field, length: MemoryLayout<Field>.size)
        let count = length ?? all.firstIndex(of: 0) ?? all.count
        return String(decoding: all.prefix(count), as: UTF8.self)
    }

    /// The text of `slot` in an array of SENTINEL_PATH_MAX-byte strings at `field`; nil for a
    /// negative length (none was read).
    private func text<Root>(at field: KeyPath<Root, some Any>, slot: Int, length: Int) -> String? {
        guard length >= 0 else { return nil }
        let start = record + MemoryLayout<Root>.offset(of: field)! + slot * Int(SENTINEL_PATH_MAX)
        return String(decoding: UnsafeRawBufferPointer(start: start, count: length), as: UTF8.self)
    }

    /// What the kernel found open at a call's descriptor argument.
    private func descriptor(_ fd: sentinel_fd) -> Descriptor {
        let number = Int64(fd.num)
        guard fd.mode != 0 else { return Descriptor(number: number, kind: nil) }
        let path = fd.name_len >= 0 ? text(at: \sentinel_call.fd.name, length: Int(fd.name_len)) : nil
        let kind = Descriptor.Kind(mode: fd.mode, name: path, family: fd.ends.family)
        switch kind {
        case .file, .directory: return Descriptor(number: number, kind: kind, name: path, inode: fd.ino)
        case .memfd: return Descriptor(number: number, kind: kind, name: path.map { String($0.drop { $0 == "/" }) }, inode: fd.ino)
        case .ipv4, .ipv6:
            let (local, remote) = endpoints(at: \sentinel_call.fd.ends)
            let l4proto = fd.ends.protocol == Self.udp ? "udp" : fd.ends.protocol == Self.tcp ? "tcp" : nil
            return Descriptor(number: number, kind: kind, inode: fd.ino, local: local, remote: remote, l4proto: l4proto)
        default: return Descriptor(number: number, kind: kind, inode: fd.ino)
        }
    }

    /// The struct sockaddr_in or sockaddr_in6 at `field`; nil for another family.
    private func socketAddress<Root>(at field: KeyPath<Root, some Any>) -> Endpoint? {
        let raw = Array(bytes(at: field, length: 28))
        let family = UInt16(raw[0]) | UInt16(raw[1]) << 8
        let port = UInt16(raw[2]) << 8 | UInt16(raw[3])
        switch family {
        case 2: return Endpoint(address: IPAddress(networkBytes: Array(raw[4..<8])), port: port)
        case Self.inet6: return Endpoint(address: Self.ipv6(Array(raw[8..<24])), port: port)
        default: return nil
        }
    }

    /// A socket's two ends from the sentinel_endpoints at `field`.
    private func endpoints<Root>(at field: KeyPath<Root, sentinel_endpoints>) -> (local: Endpoint, remote: Endpoint) {
        let ends = record.loadUnaligned(fromByteOffset: MemoryLayout<Root>.offset(of: field)!, as: sentinel_endpoints.self)
        let isV6 = ends.family == Self.inet6
        return (Endpoint(address: address(at: field.appending(path: \sentinel_endpoints.local_addr), v6: isV6), port: ends.local_port),
                Endpoint(address: address(at: field.appending(path: \sentinel_endpoints.remote_addr), v6: isV6), port: ends.remote_port))
    }

    /// The 16-byte address at `field`: IPv4 in its first 4 bytes unless `v6`.
    private func address<Root>(at field: KeyPath<Root, some Any>, v6: Bool) -> IPAddress {
        let raw = Array(bytes(at: field, length: 16))
        return v6 ? Self.ipv6(raw) : IPAddress(networkBytes: Array(raw[0..<4]))
    }

    /// Sixteen bytes of an IPv6 address; an IPv6 socket talking IPv4 holds ::ffff:a.b.c.d, and
    /// the connection is IPv4's.
    private static func ipv6(_ raw: [UInt8]) -> IPAddress {
        let isMappedV4 = raw[0..<10].allSatisfy { $0 == 0 } && raw[10] == 0xff && raw[11] == 0xff
        return IPAddress(networkBytes: isMappedV4 ? Array(raw[12..<16]) : raw)
    }
}
