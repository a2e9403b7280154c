import Foundation
import Testing

extension LiveTests {
    /// sentinel's own image (packaging/build-image, which script/test runs), started as README and
    /// the DaemonSet start it, watching another container.
    @Suite struct Image {
        static let image = "sentinel/sentinel:test"
        static let name = "sentinel-image-under-test"
        static let capabilities = ["--cap-add=SYS_ADMIN", "--cap-add=NET_ADMIN", "--cap-add=NET_RAW", "--cap-add=SYS_PTRACE",
                                   "--cap-add=DAC_READ_SEARCH", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]

        @Test func itSeesAnotherContainerReadTheShadowFile() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            try #require(try command(["docker", "image", "inspect", Self.image]).status == 0, "script/test builds \(Self.image) with packaging/build-image")
            try command(["docker", "rm", "-f", Self.name])
            defer { _ = try? command(["docker", "rm", "-f", Self.name]) }
            // README's least-privilege form of the run: the capabilities instead of --privileged
            // (which a host without every capability, as a CI sandbox, cannot grant).
            let started = try command(["docker", "run", "-d", "--name", Self.name] + Self.capabilities
                                      + ["--pid=host", "--cgroupns=host", "--uts=host", "--network=none", "-v", "/sys/kernel/btf:/sys/kernel/btf:ro",
                                         "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "-v", "/var/run/docker.sock:/var/run/docker.sock", Self.image])
            try #require(started.status == 0, "docker run \(Self.image)")
            func logs() -> String { (try? shell("docker logs \(Self.name) 2>&1"))?.output ?? "" }
            let watching = waitUntil(seconds: 60) { logs().contains("watching") }
            try #require(watching, "the image's sentinel did not start watching: \(logs())")

            let container = try TestContainer.run("sentinel-image-victim", "/bin/cat /etc/shadow >/dev/null")
            defer { container.remove() }
            var alert: [String: Any]?
            _ = waitUntil(seconds: 10) {
                alert = logs().split(separator: "\n").compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                }.first { object in
                    object["rule"] as? String == "Sensitive file read in container"
                        && (object["output_fields"] as? [String: Any])?["container.id"] as? String == container.id
                }
                return alert != nil
            }
            let fields = try #require(alert?["output_fields"] as? [String: Any], "no alert for the victim: \(logs())")
            #expect(fields["container.name"] as? String == container.name, "the image's sentinel reads Docker's socket for names")
            #expect(fields["fd.name"] as? String == "/etc/shadow")
            var host = [CChar](repeating: 0, count: 256)
            gethostname(&host, host.count)
            #expect(alert?["hostname"] as? String == String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    "--uts=host: alerts name the node, not the container")
        }
    }
}

extension LiveTests {
    /// `sentinel check` and `--dry-run` try the real parts on this host.
    @Suite struct HostChecks {
        @Test func checkTriesEveryPartAndSaysWhatIsMissing() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let ready = try sentinel(["check"])
            #expect(ready.status == 0, "\(ready.stderr)")
            #expect(ready.stderr.contains("sentinel: eBPF probes: ok, loaded and attached: "), "\(ready.stderr)")
            #expect(ready.stderr.contains("sentinel: container runtime: ok, "), "\(ready.stderr)")
            #expect(ready.stderr.contains("sentinel: packet capture: ok"), "\(ready.stderr)")
            let unprivileged = try sentinel(["check"], as: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
            #expect(unprivileged.status == 1)
            #expect(unprivileged.stderr.contains("eBPF probes: problem: loading eBPF probes needs root"), "\(unprivileged.stderr)")
            let noDocker = try sentinel(["check", "--docker-socket", "/nonexistent/docker.sock"])
            #expect(noDocker.status == 0, "Docker is optional: \(noDocker.stderr)")
            #expect(noDocker.stderr.contains("container runtime: warning: "), "\(noDocker.stderr)")
        }

        @Test func aDryRunTriesWhatTheRulesNeedAndStartsNothing() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let result = try sentinel(["--rules", "rules/", "--dry-run"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("sentinel: config and rules: ok, "))
            #expect(result.stderr.contains("sentinel: ready to run"))
            #expect(!result.stderr.contains("watching"), "no sensor started")
        }
    }
}
