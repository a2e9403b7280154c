import CLibbpf
import Engine
import Testing
@testable import Sensors

/// Records laid out as the kernel writes them (bpf/include/records.h), decoded as the sensor does.
@Suite struct RecordDecoderTests {
    func decode<Record>(_ record: Record, kind: sentinel_record_kind, size: Int? = nil, edit: (inout Record) -> Void = { _ in }) -> Event? {
        var record = record
        edit(&record)
        return withUnsafeBytes(of: &record) { bytes in
            var header = sentinel_header()
            header.kind = kind.rawValue
            header.pid = 42
            header.tid = 43
            return RecordDecoder(record: bytes.baseAddress!, size: size ?? bytes.count, header: header, time: 7, containerID: "abc").event()
        }
    }

    static func fill<Tuple>(_ tuple: inout Tuple, with text: [UInt8]) {
        withUnsafeMutableBytes(of: &tuple) { buffer in
            for (index, byte) in text.prefix(buffer.count).enumerated() { buffer[index] = byte }
        }
    }

    @Test func anExecCarriesItsProcessAndArguments() throws {
        let args = Array("/bin/sh\0-c\0cat /etc/shadow\0".utf8)
        let event = try #require(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { exec in
            exec.ppid = 7; exec.uid = 1000; exec.gid = 1000; exec.euid = 1000; exec.vpid = 1; exec.tty = 34816
            Self.fill(&exec.comm, with: Array("sh".utf8))
            Self.fill(&exec.path, with: Array("/bin/sh".utf8)); exec.path_len = 7
            exec.exe_len = -1
            Self.fill(&exec.args, with: args); exec.args_len = UInt32(args.count)
        })
        #expect(event.type == .execve)
        #expect(event.pid == 42 && event.tid == 43 && event.ppid == 7)
        #expect(event.process.name == "sh")
        #expect(event.process.exePath == "/bin/sh")
        #expect(event.process.args == ["/bin/sh", "-c", "cat /etc/shadow"])
        #expect(event.process.vpid == 1 && event.process.tty == 34816 && event.process.uid == 1000)
        #expect(event.process.argsTruncated == false)
        #expect(event.containerID == "abc")
    }

    /// The executable is the file the kernel opened: what a relative name stood for, or a memfd
    /// run through its descriptor (an execveat).
    @Test func anExecNamesTheFileTheKernelOpened() throws {
        let event = try #require(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { exec in
            Self.fill(&exec.path, with: Array("./tool".utf8)); exec.path_len = 6
            Self.fill(&exec.exe, with: Array("/tmp/build/tool".utf8)); exec.exe_len = 15; exec.exe_links = 1
        })
        #expect(event.type == .execve && event.process.exePath == "/tmp/build/tool" && event.process.exeFromMemfd == false)
        let memfd = try #require(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { exec in
            Self.fill(&exec.path, with: Array("/dev/fd/3".utf8)); exec.path_len = 9; exec.by_descriptor = 1
            Self.fill(&exec.exe, with: Array("/memfd:payload".utf8)); exec.exe_len = 14; exec.exe_links = 0
        })
        #expect(memfd.type == .execveat && memfd.process.exePath == "/memfd:payload" && memfd.process.exeFromMemfd == true)
        #expect(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { $0.exe_len = 300 } == nil, "an executable's path beyond the buffer")
    }

    /// The parent's name the decoder reads from a record of `kind`.
    func parentName<Record>(_ record: Record, kind: sentinel_record_kind) -> String? {
        var record = record
        return withUnsafeBytes(of: &record) { bytes in
            var header = sentinel_header()
            header.kind = kind.rawValue
            return RecordDecoder(record: bytes.baseAddress!, size: bytes.count, header: header, time: 7, containerID: "abc").parentName
        }
    }

    /// The parent's name travels in exec and fork records, for parents gone before /proc is read.
    @Test func execsAndForksNameTheirParent() {
        var exec = sentinel_exec()
        Self.fill(&exec.parent_comm, with: Array("runc:[2:INIT]".utf8))
        #expect(parentName(exec, kind: SENTINEL_RECORD_EXEC) == "runc:[2:INIT]")
        var fork = sentinel_fork()
        Self.fill(&fork.parent_comm, with: Array("runc:[1:CHILD]".utf8))
        #expect(parentName(fork, kind: SENTINEL_RECORD_FORK) == "runc:[1:CHILD]")
        #expect(parentName(sentinel_exit(), kind: SENTINEL_RECORD_EXIT) == nil, "an exit names no parent")
    }

    @Test func aReExecThroughProcSelfExeIsNamedByArgv0() throws {
        let args = Array("cat\0/etc/shadow\0".utf8)
        let event = try #require(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { exec in
            Self.fill(&exec.comm, with: Array("exe".utf8))
            Self.fill(&exec.path, with: Array("/proc/self/exe".utf8)); exec.path_len = 14
            Self.fill(&exec.args, with: args); exec.args_len = UInt32(args.count)
        })
        #expect(event.process.name == "cat")
    }

    /// A captured call: registers in the call's order, the copied texts given to its string
    /// arguments in turn, one that could not be read left out.
    @Test func aCapturedCallCarriesItsArgumentsAndResult() throws {
        var call = sentinel_call()
        call.nr = 264 // renameat(olddirfd, oldpath, newdirfd, newpath)
        call.result = -2
        call.args = (0xFFFF_FF9C, 0x1000, 5, 0x2000, 0, 0)
        call.string_lengths = (5, -1, -1)
        withUnsafeMutableBytes(of: &call.strings) { buffer in
            for (index, byte) in Array("old.f".utf8).enumerated() { buffer[index] = byte }
        }
        let event = try #require(decode(call, kind: SENTINEL_RECORD_CALL))
        #expect(event.type.name == "renameat")
        guard case .call(let arguments) = event.payload else { Issue.record("not a call: \(event.payload)"); return }
        #expect(arguments.texts == [nil, "old.f", nil, nil])
        #expect(arguments.result == -2 && arguments.values == [0xFFFF_FF9C, 0x1000, 5, 0x2000])
        #expect(CapturedCall.call(of: event.type)?.number(of: 0, in: arguments) == -100, "AT_FDCWD, as the C int it is")
        #expect(decode(call, kind: SENTINEL_RECORD_CALL) { $0.string_lengths = (300, -1, -1) } == nil, "a length beyond the buffer")
        #expect(decode(call, kind: SENTINEL_RECORD_CALL) { $0.nr = 0 } == nil, "a number the table does not capture")
    }

    /// A call on a descriptor carries what the kernel found open there: a socket's ends, a memfd's
    /// name without the path walk's slash, nothing for a descriptor with nothing open.
    @Test func aCallOnADescriptorCarriesItsFile() throws {
        var call = sentinel_call()
        call.nr = 33 // dup2(oldfd, newfd)
        call.result = 1
        call.args = (3, 1, 0, 0, 0, 0)
        call.string_lengths = (-1, -1, -1)
        call.fd.num = 3
        call.fd.mode = 0o140777
        call.fd.name_len = -1
        call.fd.ends.family = 2; call.fd.ends.protocol = 6; call.fd.ends.local_port = 40100; call.fd.ends.remote_port = 4444
        Self.fill(&call.fd.ends.local_addr, with: [172, 17, 0, 3]); Self.fill(&call.fd.ends.remote_addr, with: [10, 0, 0, 5])
        let event = try #require(decode(call, kind: SENTINEL_RECORD_CALL))
        guard case .call(let arguments) = event.payload else { Issue.record("not a call: \(event.payload)"); return }
        #expect(arguments.descriptor == Descriptor(number: 3, kind: .ipv4, local: Endpoint(address: IPAddress("172.17.0.3")!, port: 40100),
                                                  remote: Endpoint(address: IPAddress("10.0.0.5")!, port: 4444), l4proto: "tcp"))
        #expect(arguments.descriptor?.displayName() == "172.17.0.3:40100->10.0.0.5:4444")

        let memfd = try #require(decode(call, kind: SENTINEL_RECORD_CALL) { call in
            call.fd.mode = 0o100777; call.fd.ends.family = 0; call.fd.name_len = 13
            withUnsafeMutableBytes(of: &call.fd.name) { buffer in
                for (index, byte) in Array("/memfd:payload".utf8).enumerated() { buffer[index] = byte }
            }
            call.fd.name_len = 14
        })
        guard case .call(let memfdArguments) = memfd.payload else { return }
        #expect(memfdArguments.descriptor?.kind == .memfd && memfdArguments.descriptor?.name == "memfd:payload")

        let closed = try #require(decode(call, kind: SENTINEL_RECORD_CALL) { $0.fd.mode = 0; $0.result = -9 })
        guard case .call(let closedArguments) = closed.payload else { return }
        #expect(closedArguments.descriptor == Descriptor(number: 3, kind: nil))
        #expect(decode(call, kind: SENTINEL_RECORD_CALL) { $0.fd.name_len = 300 } == nil, "a name beyond the buffer")
    }

    /// The table's calls fit what the capture program reads: its numbers, arguments and strings.
    @Test func theCaptureTableFitsTheKernelsRecord() {
        #expect(CapturedCall.maximumArguments == Int(SENTINEL_CALL_ARGS) && CapturedCall.maximumStrings == Int(SENTINEL_CALL_STRINGS))
        for call in CapturedCall.all { #expect(call.number < Int(SENTINEL_CALL_NUMBERS), "\(call.name)") }
        // The kernel and user space number a 32-bit program's calls alike, within the same bound.
        #expect(Int(SENTINEL_I386_BASE) == SystemCallNames.i386Base)
        #expect(Int(SENTINEL_BOSC_CALLS) == SystemCallNumbers.bound)
    }

    /// A kind added to records.h without a name here would print as "kindN" in the statistics.
    @Test func everyRecordKindHasItsName() {
        for kind in 1..<SENTINEL_RECORD_KIND_COUNT.rawValue {
            #expect(RecordDecoder.kindNames[kind] != nil, "record kind \(kind) has no name")
        }
        #expect(Set(RecordDecoder.kindNames.values).count == RecordDecoder.kindNames.count)
    }

    @Test func lengthsBeyondTheBufferAreRefusedNotRead() {
        #expect(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC) { $0.args_len = UInt32(SENTINEL_ARGS_MAX) + 1 } == nil)
        #expect(decode(sentinel_open(), kind: SENTINEL_RECORD_OPEN) { $0.syscall_nr = 257; $0.path_len = UInt32(SENTINEL_PATH_MAX) + 1 } == nil)
        #expect(decode(sentinel_exec(), kind: SENTINEL_RECORD_EXEC, size: 100) == nil, "a record shorter than its layout")
        #expect(decode(sentinel_exit(), kind: sentinel_record_kind(rawValue: 99)) == nil, "an unknown kind")
    }

    @Test func anOpenKeepsItsFlagsAndResult() throws {
        let event = try #require(decode(sentinel_open(), kind: SENTINEL_RECORD_OPEN) { open in
            open.syscall_nr = 257; open.open_flags = 0o1101; open.result = 3
            Self.fill(&open.path, with: Array("/etc/owned".utf8)); open.path_len = 10
        })
        #expect(event.type == .openat)
        guard case .open(let path, let flags, let result, _, _) = event.payload else { Issue.record("not an open"); return }
        #expect(path == "/etc/owned" && result == 3)
        #expect(flags.isWrite && flags.contains(.create) && flags.contains(.truncate))
    }

    /// `cd /etc && cat shadow`: the kernel sends the directory the relative path started from.
    @Test func aRelativeOpenIsMadeAbsolute() throws {
        let event = try #require(decode(sentinel_open(), kind: SENTINEL_RECORD_OPEN) { open in
            open.syscall_nr = 257; open.result = 3; open.dirfd = -100
            Self.fill(&open.path, with: Array("../etc/./shadow".utf8)); open.path_len = 15
            Self.fill(&open.base, with: Array("/tmp".utf8)); open.base_len = 4
        })
        guard case .open(let path, _, _, let given, _) = event.payload else { Issue.record("not an open"); return }
        #expect(path == "/etc/shadow" && given == "../etc/./shadow")
        #expect(decode(sentinel_open(), kind: SENTINEL_RECORD_OPEN) { $0.syscall_nr = 257; $0.base_len = Int32(SENTINEL_PATH_MAX) } == nil)
    }

    @Test func anExitStatusReadsAsAShellWouldSayIt() throws {
        let exited = try #require(decode(sentinel_exit(), kind: SENTINEL_RECORD_EXIT) { $0.exit_code = 3 << 8 })
        let killed = try #require(decode(sentinel_exit(), kind: SENTINEL_RECORD_EXIT) { $0.exit_code = 9 })
        guard case .exit(let status) = exited.payload, case .exit(let signalled) = killed.payload else { Issue.record("not exits"); return }
        #expect(status == 3)
        #expect(signalled == 137)
    }

    @Test func anIPv4MappedAcceptReadsAsIPv4() throws {
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
        let event = try #require(decode(sentinel_socket(), kind: SENTINEL_RECORD_ACCEPT) { socket in
            socket.ends.family = 10; socket.ends.protocol = 6; socket.ends.local_port = 4444; socket.ends.remote_port = 50000; socket.result = 4
            Self.fill(&socket.ends.local_addr, with: mapped); Self.fill(&socket.ends.remote_addr, with: mapped)
        })
        guard case .socket(let connection) = event.payload else { Issue.record("not a socket event"); return }
        #expect(connection.direction == .inbound)
        #expect(connection.destination == Endpoint(address: IPAddress("127.0.0.1")!, port: 4444))
        #expect(connection.source == Endpoint(address: IPAddress("127.0.0.1")!, port: 50000))
    }

    @Test func aClosedConnectionCarriesTheKernelsCounters() throws {
        let event = try #require(decode(sentinel_socket(), kind: SENTINEL_RECORD_TCP_CLOSE) { socket in
            socket.ends.family = 2; socket.ends.protocol = 6; socket.outbound = 1; socket.ends.local_port = 50000; socket.ends.remote_port = 443
            Self.fill(&socket.ends.local_addr, with: [10, 0, 0, 2]); Self.fill(&socket.ends.remote_addr, with: [192, 0, 2, 1])
            socket.bytes_in = 100; socket.bytes_out = 3; socket.segments_in = 4; socket.segments_out = 5
        })
        guard case .socket(let connection) = event.payload else { Issue.record("not a socket event"); return }
        #expect(event.type == .close)
        #expect(connection.direction == .outbound)
        #expect(connection.source == Endpoint(address: IPAddress("10.0.0.2")!, port: 50000))
        #expect(connection.traffic == Traffic(bytesIn: 100, bytesOut: 3, segmentsIn: 4, segmentsOut: 5))
    }

    @Test func theSummarySaysWhatWasProducedReceivedAndDropped() {
        var counters = RecordCounters()
        counters.kernel = [sentinel_counter](repeating: sentinel_counter(), count: Int(SENTINEL_RECORD_KIND_COUNT.rawValue))
        counters.kernel[Int(SENTINEL_RECORD_EXEC.rawValue)] = sentinel_counter(produced: 10, dropped: 2)
        for _ in 0..<8 { counters.received(kind: SENTINEL_RECORD_EXEC.rawValue) }
        counters.delivered = 8
        #expect(counters.summary == "records produced/received/dropped: exec 10/8/2; 8 events delivered, 0 malformed")
        #expect(counters.statistics.dropped == 2)
    }
}
