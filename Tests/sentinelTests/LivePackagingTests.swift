import Foundation
import Testing

extension LiveTests {
    /// sentinel's own image (packaging/build-image, which script/test runs), started as README and
    /// the DaemonSet start it, watching another container.
    @Suite(.serialized) struct Image {
        static let image = "sentinel/sentinel:test"
        static let name = "sentinel-image-under-test"
        static let capabilities = ["--cap-add=SYS_ADMIN", "--cap-add=NET_ADMIN", "--cap-add=NET_RAW", "--cap-add=SYS_PTRACE",
                                   "--cap-add=DAC_READ_SEARCH", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]

        @Test func itSeesAnotherContainerReadTheShadowFile() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            // README's least-privilege form of the run: the capabilities instead of --privileged
            // (which a host without every capability, as a CI sandbox, cannot grant).
            try start(Self.capabilities + ["--pid=host", "--cgroupns=host", "--uts=host", "--network=none", "-v", "/sys/kernel/btf:/sys/kernel/btf:ro",
                                           "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "-v", "/var/run/docker.sock:/var/run/docker.sock"])
            defer { _ = try? command(["docker", "rm", "-f", Self.name]) }
            try expectAlertOnAShadowRead()
        }

        /// The DaemonSet's pod, run by Docker as the kubelet would run it (`PodAsDockerRun`: every
        /// field of the manifest's pod spec, or the test fails): its sentinel sees another
        /// container read the shadow file, answers the manifest's liveness probe, and stops cleanly
        /// within the grace period at the kubelet's SIGTERM.
        @Test func theDaemonSetsPodWatchesTheNode() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            guard FileManager.default.isExecutableFile(atPath: packageRoot + "/.build/tools/bin/python3") else {
                #expect(!LiveEnvironment.isCI, ".build/tools is missing: script/test installs it")
                return
            }
            let documents = try yamlDocuments(packageRoot + "/packaging/kubernetes/sentinel-daemonset.yaml")
            let daemonSet = try #require(documents.first { $0["kind"] as? String == "DaemonSet" })
            let template = (daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any]
            let spec = try #require(template?["spec"] as? [String: Any])
            let state = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: state) }
            let pod = try PodAsDockerRun(pod: spec, hostPaths: ["/var/lib/sentinel": state])
            try start(pod.options, arguments: pod.arguments)
            defer { _ = try? command(["docker", "rm", "-f", Self.name]) }
            try expectAlertOnAShadowRead()
            let liveness = try #require(pod.liveness, "the manifest has a liveness probe")
            #expect(throws: Never.self, "the kubelet's liveness probe: GET \(liveness.path) on port \(liveness.port)") {
                _ = try fetch(liveness.port, liveness.path)
            }
            try command(["docker", "stop", "-t", String(pod.stopSeconds), Self.name])
            let exit = try command(["docker", "inspect", "-f", "{{.State.ExitCode}}", Self.name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(exit == "0", "a clean stop within the grace period: \(logs())")
        }

        func logs() -> String { (try? shell("docker logs \(Self.name) 2>&1"))?.output ?? "" }

        /// Starts the image with `options` and waits until its sentinel watches.
        func start(_ options: [String], arguments: [String] = []) throws {
            try #require(try command(["docker", "image", "inspect", Self.image]).status == 0, "script/test builds \(Self.image) with packaging/build-image")
            try command(["docker", "rm", "-f", Self.name])
            let started = try command(["docker", "run", "-d", "--name", Self.name] + options + [Self.image] + arguments)
            try #require(started.status == 0, "docker run \(options) \(Self.image) failed")
            func running() -> Bool { (try? command(["docker", "inspect", "-f", "{{.State.Running}}", Self.name]))?.stdout.hasPrefix("true") == true }
            let watching = waitUntil(seconds: 60) { logs().contains("watching") || !running() }
            try #require(watching && running(), "the image's sentinel did not start watching: \(logs())")
        }

        /// Another container reads /etc/shadow: the image's sentinel alerts with the container's
        /// name (from Docker's socket) and the node's hostname.
        func expectAlertOnAShadowRead() throws {
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
                    "the host's UTS namespace: alerts name the node, not the container")
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
