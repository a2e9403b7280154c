import Foundation
import Testing

/// BoSC live: a profile learnt from a real container's calls, judged in the kernel, kept across a
/// restart of sentinel. Its containers run an image of their own (the test image under another
/// tag), and the rule watches only that image: another test's container still going neither
/// teaches its profile nor loads its sentinel.
extension LiveTests {
    /// Nested in LiveTests, so that it runs after or before the other live tests, never beside them:
    /// two sentinels and their containers at once load this 2-core machine past what the tests time.
    @Suite struct BoSC {
        static let rules = "Tests/sentinelTests/Fixtures/live/bosc.json"
        static let image = "sentinel/busybox:bosc-test"
        /// What the container does normally: read a file, write a line, again and again, paced:
        /// unpaced, the loop is an exec storm that, beside the other suites, outruns the reader.
        static let normal = "while true; do cat /etc/hostname > /dev/null; echo ok > /dev/null; usleep 2000; done"
        /// What it never did: look around the system.
        static let unusual = ["sh", "-c", "ls -laR /proc/1 > /dev/null 2>&1; df > /dev/null; uname -a; id"]

        /// Runs `name` detached with the normal loop; removed by the caller.
        func startContainer(_ name: String) throws -> String {
            try command(["docker", "rm", "-f", name])
            try command(["docker", "tag", LiveEnvironment.image, Self.image])
            let started = try command(["docker", "run", "-d", "--network", "none", "--name", name, Self.image, "/bin/sh", "-c", Self.normal])
            try #require(started.status == 0, "docker run failed for \(name)")
            return String(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
        }

        func boscAlerts(_ sentinel: LiveSentinel, container: String) -> [[String: Any]] {
            sentinel.alerts.filter { alert in
                alert["rule"] as? String == "Unusual system calls" && (alert["output_fields"] as? [String: Any])?["container.id"] as? String == container
            }
        }

        @Test func aProfileLearntLiveFlagsWhatTheContainerNeverDidAndOutlivesARestart() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let state = NSTemporaryDirectory() + "sentinel-bosc-state-" + UUID().uuidString
            let arguments = ["--state-dir", state]
            let sentinelCommand = ["--rules", Self.rules, "-o", "json", "--append-output", "id=%container.id"]

            let first = try LiveSentinel(arguments, command: sentinelCommand)
            let trainee = try startContainer("sentinel-live-bosc-1")
            // Profiles are the image id's; notices name the tag and the id.
            let imageID = try command(["docker", "image", "inspect", "-f", "{{.Id}}", Self.image]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let profileName = "sentinel/busybox:bosc-test (\(imageID.prefix(19)))"
            defer { _ = try? command(["docker", "rm", "-f", "sentinel-live-bosc-1"]) }
            let trained = waitUntil(seconds: 60) { first.stderr.contains("\(profileName): trained on") }
            try #require(trained, "no profile learnt: \(first.stderr)")
            #expect(first.stderr.contains("\(profileName): no profile yet; training"))
            // Judged in the kernel now: a second of normal calls, then the unusual ones.
            usleep(1_000_000)
            let quietAlerts = boscAlerts(first, container: trainee).count
            try command(["docker", "exec", "sentinel-live-bosc-1"] + Self.unusual)
            let flagged = waitUntil(seconds: 5) { boscAlerts(first, container: trainee).count > quietAlerts }
            #expect(flagged, "no BoSC alert for the unusual commands: \(first.stderr)")
            #expect(quietAlerts == 0, "alerts on normal calls: \(boscAlerts(first, container: trainee))")
            let output = boscAlerts(first, container: trainee).last?["output"] as? String ?? ""
            #expect(output.contains("more than 10 unknown bags in epoch"), "\(output)")
            #expect(first.stop() == 0)
            let counts = LiveTests.recordCounts(first.stderr)
            #expect((counts["bosc_epoch"]?.produced ?? 0) > 0 && counts["bosc_epoch"]?.dropped == 0, "\(first.stderr)")
            // Trained in the kernel: the epochs' figures came up from it (a training in user space
            // sends none), and the training ended on them.
            #expect((counts["bosc_training_epoch"]?.produced ?? 0) >= 3 && counts["bosc_training_epoch"]?.dropped == 0, "\(first.stderr)")
            let trainedOn = first.stderr.components(separatedBy: "\(profileName): trained on ").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(trainedOn >= 3000, "\(first.stderr)")

            // A restart: the image's profile is read back, and a new container is judged from its start.
            let status = try command(["/bin/sh", "-c", "\(sentinelBinary) bosc status --state-dir \(state)"])
            #expect(status.stdout.contains("container.image.id=\(imageID)  container.image=sentinel/busybox:bosc-test  detecting"), "\(status.stdout)")
            let second = try LiveSentinel(arguments, command: sentinelCommand)
            #expect(second.stderr.contains("\(profileName): profile loaded"), "\(second.stderr)")
            let judged = try startContainer("sentinel-live-bosc-2")
            defer { _ = try? command(["docker", "rm", "-f", "sentinel-live-bosc-2"]) }
            usleep(1_000_000)
            try command(["docker", "exec", "sentinel-live-bosc-2"] + Self.unusual)
            #expect(waitUntil(seconds: 5) { !boscAlerts(second, container: judged).isEmpty }, "\(second.stderr)")
            #expect(!second.stderr.contains("training"), "\(second.stderr)")

            // A new build under the same tag is another image: it trains a profile of its own, and
            // the old build's stays.
            let build = try command(["docker", "create", Self.image, "/bin/true"])
            let buildContainer = build.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try command(["docker", "commit", "-c", "LABEL sentinel.rebuilt=1", buildContainer, Self.image])
            try command(["docker", "rm", buildContainer])
            let rebuiltID = try command(["docker", "image", "inspect", "-f", "{{.Id}}", Self.image]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try command(["docker", "rm", "-f", "sentinel-live-bosc-3"])
            try command(["docker", "run", "-d", "--network", "none", "--name", "sentinel-live-bosc-3", Self.image, "/bin/sh", "-c", Self.normal])
            defer { _ = try? command(["docker", "rm", "-f", "sentinel-live-bosc-3"]) }
            let newBuildTrains = waitUntil(seconds: 10) {
                second.stderr.contains("bosc: sentinel/busybox:bosc-test (\(rebuiltID.prefix(19))): no profile yet; training")
            }
            #expect(newBuildTrains, "\(second.stderr)")
            // The kernel counts bags an epoch (1,000 calls) at a time: let the new build's container
            // make some before the stop saves what was counted (stopped at once, it may have made
            // none). Within a second it may also have finished training: either phase will do.
            usleep(1_000_000)
            #expect(second.stop() == 0, "\(second.stderr)")
            let statuses = try command(["/bin/sh", "-c", "\(sentinelBinary) bosc status --state-dir \(state)"]).stdout
            // Saved at exit with what the kernel had counted of it by then.
            let rebuilt = statuses.split(separator: "\n").first { $0.contains("container.image.id=\(rebuiltID)  container.image=sentinel/busybox:bosc-test  ") } ?? ""
            #expect(rebuilt.contains("  training  ") || rebuilt.contains("  detecting  "), "a profile of its own: \(statuses)")
            #expect(rebuilt.contains(" bags=") && !rebuilt.contains(" bags=0 "), "\(rebuilt)")
            #expect(statuses.contains("container.image.id=\(imageID)  container.image=sentinel/busybox:bosc-test  detecting"), "\(statuses)")
            _ = try? command(["docker", "rm", "-f", "sentinel-live-bosc-3"])
            _ = try? command(["docker", "rmi", "-f", rebuiltID])
            try? FileManager.default.removeItem(atPath: state)
        }
            /// The rule at its defaults (trained 90 s rather than 10 minutes) on a database under a mixed
        /// load: quiet through a minute more of that load, and an alert once sqlmap goes through
        /// the database.
        @Test func aProfileTrainedUnderAMixedLoadStaysQuietAndCatchesSqlmap() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            for tool in ["/usr/bin/sqlmap", "/usr/lib/python3/dist-packages/pymysql"] {
                try #require(FileManager.default.fileExists(atPath: tool), "script/test installs \(tool)")
            }
            let packets = Packets()
            let name = "sentinel-live-bosc-db"
            let database = try packets.startContainer(name, image: "sentinel/mariadb:bookworm", Packets.database)
            defer { _ = try? command(["docker", "rm", "-f", name]) }
            let ready = waitUntil(seconds: 60) { (try? command(["docker", "exec", name, "mariadb", "-e", "select 1"]))?.status == 0 }
            try #require(ready, "MariaDB did not start in its container")
            let created = try command(["docker", "exec", name, "mariadb", "-e",
                                       "CREATE DATABASE shop; CREATE USER shopper@'%' IDENTIFIED BY 'shopper'; GRANT ALL ON shop.* TO shopper@'%';"])
            try #require(created.status == 0, "the shop's database and account")
            let link = try Packets.Link(containerPID: database.pid)
            defer { withExtendedLifetime(link) {} }
            let script = "Tests/sentinelTests/Fixtures/live/mixed-load.py"
            try #require(try command(["/usr/bin/python3", script, Packets.containerAddress, name, "setup"]).status == 0)

            let state = NSTemporaryDirectory() + "sentinel-bosc-mixed-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: state) }
            let sentinel = try LiveSentinel(["--state-dir", state],
                                            command: ["--rules", "Tests/sentinelTests/Fixtures/live/bosc-mixed.json", "-o", "json", "--append-output", "id=%container.id"])
            let load = Process()
            load.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            load.arguments = [script, Packets.containerAddress, name, "run", "240"]
            // Not the test's output: a child holding it open would keep the test runner waiting.
            load.standardOutput = FileHandle.nullDevice
            load.standardError = FileHandle.nullDevice
            try load.run()
            defer {
                load.terminate()
                load.waitUntilExit()
            }
            func alerts() -> [[String: Any]] {
                sentinel.alerts.filter { ($0["output_fields"] as? [String: Any])?["container.id"] as? String == database.id }
            }

            let trained = waitUntil(seconds: 150) { sentinel.stderr.contains("): trained on") }
            try #require(trained, "no profile learnt: \(sentinel.stderr)")
            // A minute more of the same load: nothing.
            usleep(60_000_000)
            #expect(load.isRunning, "the load ended early")
            #expect(alerts().isEmpty, "alerts on the load it was trained on: \(alerts().map { $0["output"] ?? "" })")

            let output = NSTemporaryDirectory() + "sentinel-sqlmap-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: output) }
            let attack = try command(["/usr/bin/sqlmap", "-d", "mysql://shopper:shopper@\(Packets.containerAddress):3306/shop", "--batch", "--banner",
                                      "--users", "--dbs", "--tables", "--dump", "-T", "items", "--stop", "5", "--output-dir", output])
            #expect(attack.status == 0, "sqlmap: \(attack.stdout.suffix(2000))")
            let caught = waitUntil(seconds: 10) { !alerts().isEmpty }
            #expect(caught, "no BoSC alert for sqlmap: \(sentinel.stderr)")
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
        }
    }
}
