@testable import Engine
import SentinelJSON
import Testing

/// The capture table's rows, and the events and fields made of them.
@Suite struct CapturedCallTests {
    @Test func everyRowIsAnX86CallTheKernelCanCapture() {
        var names: Set<String> = []
        for call in CapturedCall.all {
            #expect(names.insert(call.name).inserted, "\(call.name) twice")
            #expect(SystemCallNames.name(of: call.number) == call.name)
            #expect(call.arguments.count <= CapturedCall.maximumArguments, "\(call.name)")
            #expect(call.arguments.filter(\.kind.isString).count <= CapturedCall.maximumStrings, "\(call.name)")
            #expect(EventType(name: call.name) == call.eventType && CapturedCall.call(of: call.eventType)?.name == call.name)
            for argument in call.arguments {
                guard case .relativePath(let dirfd) = argument.kind else { continue }
                #expect(call.arguments[dirfd].kind == .fd, "\(call.name).\(argument.name) is relative to an fd")
            }
        }
        #expect(EventType.capturedCalls.isSubset(of: EventType.optIn), "only rules that name a call see it")
    }

    @Test func flagsAndChoicesRoundTripThroughTheirNames() {
        #expect(FlagNames.mode.flags(0o4755) == "S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH")
        #expect(FlagNames.mode.value(of: FlagNames.mode.flags(0o4755)) == 0o4755)
        #expect(FlagNames.unlinkat.flags(0x208) == "AT_REMOVEDIR|0x8")
        #expect(FlagNames.unlinkat.value(of: "AT_REMOVEDIR|0x8") == 0x208)
        #expect(FlagNames.unlinkat.flags(0) == "0")
        #expect(FlagNames.unlinkat.value(of: "AT_NOSUCHFLAG") == nil)
        // A socket's type is a value in its low bits and flags above them.
        #expect(FlagNames.socketTypes.flags(0x80001) == "SOCK_STREAM|SOCK_CLOEXEC")
        #expect(FlagNames.socketTypes.flags(3) == "SOCK_RAW", "not SOCK_STREAM|SOCK_DGRAM")
        #expect(FlagNames.socketTypes.value(of: "SOCK_RAW|SOCK_NONBLOCK") == 0x803)
        #expect(FlagNames.ptraceRequests.choice(16) == "PTRACE_ATTACH" && FlagNames.ptraceRequests.choice(99) == "99")
    }

    func decode(_ line: String) -> (Event?, [String]) {
        let diagnostics = Diagnostics()
        guard case .success(let cursor) = JSONSource(name: "calls.jsonl", bytes: Array(line.utf8)).parse() else { return (nil, ["syntax"]) }
        let event = EventCodec.decode(cursor, diagnostics: diagnostics)
        return (event, diagnostics.all.map(\.message))
    }

    /// An unconnected socket's peer is the address its call named: the fields show it, the socket
    /// stays unconnected, and a recording of the event replays to the same.
    @Test func anUnconnectedSocketsPeerIsItsCallsAddress() throws {
        let local = Endpoint(address: IPAddress("172.17.0.3")!, port: 40000)
        let unset = Endpoint(address: IPAddress("0.0.0.0")!, port: 0)
        var arguments = CallArguments(values: [5, 0, 1, 0, 0, 16], texts: Array(repeating: nil, count: 6), result: 1,
                                      descriptor: Descriptor(number: 5, kind: .ipv4, local: local, remote: unset, l4proto: "udp"))
        arguments.address = Endpoint(address: IPAddress("10.0.0.53")!, port: 53)
        let sendto = Event(type: EventType(name: "sendto")!, time: 1, pid: 9, containerID: "c0ffee000001", payload: .call(arguments))
        let (replayed, errors) = decode(EventCodec.encode(sendto))
        #expect(errors.isEmpty, "\(errors)")
        for event in [sendto, try #require(replayed)] {
            let harness = Harness()
            harness.feed(event)
            #expect(try harness.matches("fd.rip = 10.0.0.53 and fd.rport = 53 and fd.connected = false"))
            #expect(try harness.matches("fd.name = \"172.17.0.3:40000->10.0.0.53:53\" and evt.arg.addr = \"10.0.0.53:53\""))
        }
    }

    /// Falco's fd.name_changed: a UDP socket's datagram to a peer other than its last one. The
    /// outbound macro takes a socket's first datagram to each peer, not every datagram.
    @Test func aSocketsNameChangesWithItsPeer() throws {
        let rule = CompiledRule(name: "New peer", priority: .notice, condition: try compile("evt.type = sendto and fd.name_changed = true"),
                                output: OutputTemplate.compile(ConditionOrigin(text: "to %fd.rip"), diagnostics: Diagnostics()))
        let engine = Engine(rules: [rule])
        var outputs: [String] = []
        for (time, (socket, peer)) in [(7, "10.0.0.53"), (7, "10.0.0.53"), (7, "10.0.0.54"), (7, "10.0.0.53"), (8, "10.0.0.53")].enumerated() {
            var arguments = CallArguments(values: [5, 0, 1, 0, 0, 16], texts: Array(repeating: nil, count: 6), result: 1,
                                          descriptor: Descriptor(number: 5, kind: .ipv4, inode: UInt64(socket), local: Endpoint(address: IPAddress("172.17.0.3")!, port: 40000),
                                                                 remote: Endpoint(address: IPAddress("0.0.0.0")!, port: 0), l4proto: "udp"))
            arguments.address = Endpoint(address: IPAddress(peer)!, port: 53)
            engine.process(Event(type: EventType(name: "sendto")!, time: UInt64(time + 1), pid: 9, payload: .call(arguments))) { outputs.append($0.output) }
        }
        #expect(outputs == ["to 10.0.0.53", "to 10.0.0.54", "to 10.0.0.53", "to 10.0.0.53"], "the second datagram to .53 on socket 7 is not a change; socket 8 is new")
    }

    /// A recorded call reads back as it was written; registers keep the C type the call takes.
    @Test func aCallRoundTripsAndItsFieldsReadItsArguments() throws {
        let line = #"{"evt.type":"renameat2","evt.time":5,"container.id":"abc","proc.pid":10,"evt.arg.olddirfd":-100,"evt.arg.oldpath":"a","evt.arg.newdirfd":-100,"evt.arg.newpath":"/tmp/b","evt.arg.flags":1,"evt.rawres":0}"#
        let (decoded, errors) = decode(line)
        #expect(errors.isEmpty, "\(errors)")
        let event = try #require(decoded)
        #expect(EventCodec.encode(event) == line)
        let harness = Harness()
        harness.feed(exec(10, ppid: 1, "/bin/mv", ["mv", "a", "/tmp/b"], container: "abc"))
        harness.feed(event)
        #expect(try harness.matches("evt.type = renameat2 and evt.arg.oldpath = a and evt.arg.newpath startswith /tmp/ and evt.arg.olddirfd = -100"))
        #expect(try harness.matches("evt.arg.flags = RENAME_NOREPLACE and evt.res = SUCCESS and evt.rawres = 0"))
        #expect(try harness.matches("evt.args = \"olddirfd=-100 oldpath=a newdirfd=-100 newpath=/tmp/b flags=RENAME_NOREPLACE\""))
        // Falco's positional form, from 0: the same values as by name, none past the last.
        #expect(try harness.matches("evt.arg[0] = -100 and evt.arg[1] = a and evt.arg[3] = /tmp/b and evt.arg[4] = RENAME_NOREPLACE"))
        #expect(try !harness.matches("evt.arg[5] exists"))
        let (failed, _) = decode(#"{"evt.type":"unlink","evt.time":6,"proc.pid":10,"evt.arg.path":"/data/x","evt.rawres":-13}"#)
        harness.feed(try #require(failed))
        #expect(try harness.matches("evt.type = unlink and evt.res = EACCES and evt.arg.path = /data/x"))
    }

    @Test func anArgumentTheCallDoesNotHaveIsNamed() {
        let (event, errors) = decode(#"{"evt.type":"unlinkat","evt.time":5,"proc.pid":10,"evt.arg.dirfd":-100,"evt.arg.path":"x"}"#)
        #expect(event == nil)
        #expect(errors == ["unlinkat has no argument \"path\" (its arguments: dirfd, name, flags)"])
        let (_, flagErrors) = decode(#"{"evt.type":"unlinkat","evt.time":5,"proc.pid":10,"evt.arg.flags":"AT_REMOVE"}"#)
        #expect(flagErrors == ["\"AT_REMOVE\" is not made of flags's names (AT_REMOVEDIR)"])
    }
}
