import Foundation
import Testing

extension LiveTests {
    /// Falco's rules as a Falco user brings them: rule files in Falco's YAML (Fixtures/falco,
    /// written after what each of Falco's 25 stable rules describes, under its name), imported
    /// with `sentinel rules import`, then run live while real containers do what each rule
    /// describes, one after the other under one sentinel, and an ordinary container does nothing
    /// of the kind. Nested in LiveTests, which runs its suites one at a time: the corpus test must
    /// not see these containers' attacks.
    @Suite struct FalcoRules {
        struct Behaviour: Sendable {
            let rule: String
            let command: String
            var image = LiveEnvironment.image
            var options: [String] = []
        }

        static let debian = LiveTests.debian
        static let python = LiveTests.python

        static let behaviours: [Behaviour] = [
            Behaviour(rule: "Directory traversal monitored file read", command: "cd /tmp && cat ../etc/./passwd >/dev/null; sleep 1"),
            Behaviour(rule: "Read sensitive file trusted after startup",
                      command: "cp /bin/bash /tmp/sshd && /tmp/sshd -c 'sleep 1.5; read line < /etc/shadow'; sleep 1", image: debian),
            Behaviour(rule: "Read sensitive file untrusted", command: "cat /etc/shadow >/dev/null; sleep 1"),
            Behaviour(rule: "Run shell untrusted", command: "cp /bin/bash /tmp/nginx && /tmp/nginx -c '/bin/sh -c true; true'; sleep 1", image: debian),
            Behaviour(rule: "System user interactive", command: "/bin/sh -c 'true; true'; sleep 1", options: ["-t", "--user", "2"]),
            Behaviour(rule: "Terminal shell in container", command: "/bin/sh -c 'true; true'; sleep 1", options: ["-t"]),
            Behaviour(rule: "Contact K8S API Server From Container",
                      command: "nc -l -p 6443 >/dev/null & sleep 0.5; echo x | nc -w 1 127.0.0.1 6443; sleep 1"),
            Behaviour(rule: "Netcat Remote Code Execution in Container", command: "nc -w 1 -e /bin/true 127.0.0.1 1; sleep 1"),
            // busybox runs some applets without an exec when named bare: the path makes it exec.
            Behaviour(rule: "Search Private Keys or Passwords", command: "/bin/find / -name id_rsa 2>/dev/null; sleep 1"),
            Behaviour(rule: "Clear Log Activities", command: "mkdir -p /var/log; : > /var/log/auth.log; sleep 1"),
            Behaviour(rule: "Remove Bulk Data from Disk", command: "echo secret > /tmp/data; shred -u /tmp/data; sleep 1"),
            Behaviour(rule: "Create Symlink Over Sensitive Files", command: "cd /tmp && ln -s /etc/shadow s; sleep 1"),
            Behaviour(rule: "Create Hardlink Over Sensitive Files", command: "ln /etc/shadow /tmp/h; sleep 1"),
            Behaviour(rule: "Packet socket created in container",
                      command: python("import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x300)"), image: debian),
            Behaviour(rule: "Redirect STDOUT/STDIN to Network Connection in Container", command: """
                python3 -c 'import socket
                s = socket.socket(); s.bind(("127.0.0.1", 4444)); s.listen(1); c, _ = s.accept(); c.close()' & sleep 0.5
                bash -c 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'; wait; sleep 1
                """, image: debian),
            Behaviour(rule: "Linux Kernel Module Injection Detected", command: python("libc.syscall(313, -1, b'', 0)"), image: debian),
            // --privileged cannot start on the test machine (see LiveTests): CAP_SYS_ADMIN stands for it.
            Behaviour(rule: "Debugfs Launched in Privileged Container", command: "debugfs -V; sleep 1", image: debian, options: ["--cap-add", "SYS_ADMIN"]),
            Behaviour(rule: "Detect release_agent File Container Escapes",
                      command: "mkdir /tmp/cg && mount -t cgroup -o none,name=escape cgroup /tmp/cg && /bin/sh -c 'echo /tmp/x > /tmp/cg/release_agent'; umount /tmp/cg; sleep 1",
                      image: debian, options: ["--cap-add", "SYS_ADMIN"]),
            Behaviour(rule: "PTRACE attached to process", command: python("""
                import os, time
                child = os.fork()
                if child == 0:
                    time.sleep(3); os._exit(0)
                libc.ptrace(16, child, 0, 0); os.kill(child, 9)
                """), image: debian),
            Behaviour(rule: "PTRACE anti-debug attempt", command: python("libc.ptrace(0, 0, 0, 0)"), image: debian),
            Behaviour(rule: "Find AWS Credentials", command: "grep -r aws_secret_access_key /root 2>/dev/null; sleep 1"),
            // Docker mounts /dev/shm noexec; a tmpfs there that allows exec is what the attack needs.
            Behaviour(rule: "Execution from /dev/shm", command: "cp /bin/busybox /dev/shm/true && /dev/shm/true; sleep 1", options: ["--tmpfs", "/dev/shm:rw,exec"]),
            Behaviour(rule: "Drop and execute new binary in container", command: "cp /bin/busybox /tmp/payload; /tmp/payload true; sleep 1"),
            Behaviour(rule: "Disallowed SSH Connection Non Standard Port", command: """
                python3 -c 'import socket
                s = socket.socket(); s.bind(("127.0.0.1", 2222)); s.listen(1); c, _ = s.accept(); c.close()' & sleep 0.5
                cp /bin/bash /tmp/ssh && /tmp/ssh -c 'exec 3<>/dev/tcp/127.0.0.1/2222'; wait; sleep 1
                """, image: debian),
            Behaviour(rule: "Fileless execution via memfd_create", command: python("""
                import os
                fd = os.memfd_create("payload")
                os.write(fd, open("/usr/bin/true", "rb").read())
                argv = (ctypes.c_char_p * 2)(b"kworker", None)
                libc.syscall(322, fd, b"", argv, (ctypes.c_char_p * 1)(None), 0x1000)
                """), image: debian),
        ]

        @Test func importedFalcoRulesFireOnWhatTheyDescribeAndNotOnAnOrdinaryContainer() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let fixtures = "Tests/sentinelTests/Fixtures/falco/"
            let rules = NSTemporaryDirectory() + "sentinel-falco-" + UUID().uuidString
            let imported = try sentinel(["rules", "import", fixtures + "behaviours.yaml", fixtures + "behaviours-local.yaml", "--out", rules])
            try #require(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.contains("behaviours.yaml: 25 of 25 rules"), "\(imported.stdout)")
            #expect(Set(Self.behaviours.map(\.rule)).count == 25)

            let live = try LiveSentinel(command: ["--rules", rules, "-o", "json", "--append-output", LiveSentinel.appended])
            var silent: [String] = []
            for (index, behaviour) in Self.behaviours.enumerated() {
                let container = try TestContainer.run("sentinel-falco-\(index)", image: behaviour.image, options: behaviour.options, behaviour.command)
                defer { container.remove() }
                if live.alert(behaviour.rule, container: container.id, within: 3) == nil { silent.append(behaviour.rule) }
            }
            #expect(silent.isEmpty, "no alert for: \(silent.joined(separator: "; "))\nalerts: \(live.alerts.map { $0["output"] ?? "" })")
            // The local file's override: the rule keeps its condition and takes the new priority.
            let shredding = live.alerts.first { $0["rule"] as? String == "Remove Bulk Data from Disk" }
            #expect(shredding?["priority"] as? String == "Error")

            let ordinary = try TestContainer.run("sentinel-falco-ordinary", "ls / >/dev/null; cat /etc/passwd >/dev/null; echo hello > /tmp/greeting; sleep 1")
            defer { ordinary.remove() }
            _ = live.alert("none", container: ordinary.id, within: 1.5)
            let raised = live.alerts.filter { ($0["output_fields"] as? [String: Any])?["container.id"] as? String == ordinary.id }
            #expect(raised.isEmpty, "an ordinary container raised: \(raised.map { $0["rule"] ?? "" })")
            #expect(live.stop() == 0, "\(live.stderr)")
        }
    }
}
