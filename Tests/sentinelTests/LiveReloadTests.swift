import Foundation
import Testing

extension LiveTests {
    /// A reload retunes the probes: a rule on opens attaches the open probes, a rule on the
    /// environment has execs carry it, and the rules going detach them again.
    @Suite(.serialized) struct ProbesFollowAReload {
        @Test func aReloadAttachesTheProbesItsRulesNeedAndDetachesTheRest() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let fixtures = packageRoot + "/Tests/sentinelTests/Fixtures/live/"
            let rules = try temporaryFile("rules.json", String(contentsOfFile: fixtures + "reload-before.json", encoding: .utf8))
            let port = freePort()
            let config = try temporaryFile("sentinel.json", #"{"web": {"listen": "127.0.0.1:\#(port)"}}"#)
            let sentinel = try LiveSentinel(["--config", config], command: ["--rules", rules, "-o", "json"])
            func attached(_ family: String) -> Bool? {
                metricValue(#"sentinel_probe_family_attached{family="\#(family)"}"#, port: port).map { $0 == 1 }
            }
            /// Runs a container that reads /etc/shadow with cat, its environment marked; the rules
            /// that alerted on it, once its cat's alert is in.
            func victim(_ name: String) throws -> Set<String> {
                let container = try TestContainer.run(name, options: ["-e", "SENTINEL_MARK=\(name)"], "/bin/cat /etc/shadow >/dev/null; sleep 1")
                defer { container.remove() }
                try #require(sentinel.alert("Cat run", container: container.id, within: 10) != nil, "\(sentinel.stderr)")
                usleep(500_000)
                return sentinel.alerts.filter { (($0["output_fields"] as? [String: Any])?["container.id"] as? String) == container.id }
                    .reduce(into: Set<String>()) { $0.insert($1["rule"] as? String ?? "") }
            }
            #expect(attached("syscall_results") == false, "no rule needs the open probes yet")
            #expect(try victim("sentinel-live-reload-1") == ["Cat run"])

            try String(contentsOfFile: fixtures + "reload-after.json", encoding: .utf8).write(toFile: rules, atomically: true, encoding: .utf8)
            kill(sentinel.process.processIdentifier, SIGHUP)
            #expect(waitUntil(seconds: 15) { sentinel.stderr.contains("probes attached: process, syscall_results (were process)") }, "\(sentinel.stderr)")
            #expect(attached("syscall_results") == true)
            let second = try victim("sentinel-live-reload-2")
            #expect(second == ["Cat run", "Marked environment", "Shadow opened"], "\(sentinel.alerts)")
            let marked = sentinel.alerts.first { $0["rule"] as? String == "Marked environment" }
            #expect((marked?["output"] as? String)?.hasSuffix("mark=sentinel-live-reload-2") == true, "\(marked ?? [:])")

            try String(contentsOfFile: fixtures + "reload-before.json", encoding: .utf8).write(toFile: rules, atomically: true, encoding: .utf8)
            kill(sentinel.process.processIdentifier, SIGHUP)
            #expect(waitUntil(seconds: 15) { sentinel.stderr.contains("probes attached: process (were process, syscall_results)") }, "\(sentinel.stderr)")
            #expect(attached("syscall_results") == false)
            #expect(try victim("sentinel-live-reload-3") == ["Cat run"], "the rules gone, their events no longer come")
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
        }

        /// A BoSC rule a reload brings into a run that had none: the system-call probes attach, and
        /// the kernel counts a new container's calls into its profile, saved at the exit.
        @Test func aBoSCRuleBroughtByAReloadTrains() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let fixtures = packageRoot + "/Tests/sentinelTests/Fixtures/live/"
            let rules = try temporaryFile("rules.json", String(contentsOfFile: fixtures + "reload-before.json", encoding: .utf8))
            let state = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: state) }
            let sentinel = try LiveSentinel(["--state-dir", state], command: ["--rules", rules, "-o", "json"])
            try String(contentsOfFile: fixtures + "reload-bosc.json", encoding: .utf8).write(toFile: rules, atomically: true, encoding: .utf8)
            kill(sentinel.process.processIdentifier, SIGHUP)
            #expect(waitUntil(seconds: 15) { sentinel.stderr.contains("probes attached: process, syscalls (were process)") }, "\(sentinel.stderr)")
            let container = try TestContainer.run("sentinel-live-reload-bosc", "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/cat /etc/hostname; done >/dev/null; sleep 1")
            defer { container.remove() }
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
            let status = try command(["/bin/sh", "-c", "\(sentinelBinary) bosc status --state-dir \(state)"]).stdout
            let profile = status.split(separator: "\n").first { $0.contains("container.image=\(LiveEnvironment.image)  training") } ?? ""
            #expect(profile.contains(" bags=") && !profile.contains(" bags=0 "), "a profile trained on the container's calls: \(status)\n\(sentinel.stderr)")
        }
    }
}
