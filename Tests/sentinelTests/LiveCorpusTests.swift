import Foundation
import Testing

/// The benign corpus (Tests/sentinelTests/Fixtures/corpus/run): real containers doing what
/// production containers do, watched live with the stock rules, which must raise no alert at all.
/// Canary rules (corpus/canaries.json) prove that sentinel saw each workload do its work, so that
/// silence cannot come from seeing nothing.
extension LiveTests {
    /// Nested in LiveTests, so that it runs alone: it loads the machine, and its bridge and
    /// addresses are the same each time.
    @Suite struct Corpus {
        static let directory = "Tests/sentinelTests/Fixtures/corpus"
        static let image = "sentinel/debian:bookworm"
        static let rounds = 10

        /// What each canary must have seen at least.
        static let canaries: [String: Int] = [
            "corpus: Python listed its library directory": 1,
            "corpus: the shop asked information_schema for its table": 1,
            "corpus: an order reached MariaDB": rounds,
            "corpus: the shop ran its helper": rounds,
            "corpus: nginx proxied to the stock service": 3 * rounds,
            "corpus: nginx served a file": rounds,
            "corpus: the entrypoint rendered nginx's configuration": 1,
            "corpus: MariaDB made its data directory": 1,
            "corpus: PostgreSQL ran initdb": 1,
            "corpus: psql reached PostgreSQL": rounds,
            "corpus: Docker health-checked PostgreSQL": 5,
            "corpus: logrotate ran": 3,
            "corpus: logrotate ran its postrotate script": 1,
            "corpus: the compiler wrote in /tmp": 1,
            "corpus: make ran the unit tests": 1,
            "corpus: tallyd listened": 1,
            "corpus: logrotate renamed a log": 3,
            "corpus: make removed its objects": 3,
            "corpus: the runtime mounted a container's file systems": 9,
            "corpus: mariadb-install-db made its PAM helper setuid": 1,
            "corpus: a shell redirected a standard stream": 3,
        ]

        @Test func ordinaryContainersRaiseNoAlert() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            try #require(try command(["docker", "image", "inspect", Self.image]).status == 0, "script/test builds \(Self.image)")
            let sentinel = try LiveSentinel(["--rules", Self.directory + "/canaries.json"])
            let log = NSTemporaryDirectory() + "sentinel-corpus-\(UUID().uuidString).log"
            let run = try command(["sh", "-c", "timeout 600 \(Self.directory)/run \(Self.rounds) >\(log) 2>&1"])
            let runLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(run.status == 0, "the corpus did not run to its end:\n\(runLog.suffix(4000))")
            // Messages wait 50 ms for their connection's owner; the last statistics come at exit.
            usleep(500_000)
            let status = sentinel.stop()

            let (canaries, alerts) = sentinel.alertLines.reduce(into: ([String: Int](), [String]())) { found, line in
                let rule = ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["rule"] as? String ?? ""
                if Self.canaries[rule] != nil { found.0[rule, default: 0] += 1 } else { found.1.append(line) }
            }
            #expect(alerts.isEmpty, "ordinary containers raised \(alerts.count) alerts:\n\(alerts.joined(separator: "\n"))")
            for (rule, minimum) in Self.canaries.sorted(by: { $0.key < $1.key }) {
                #expect(canaries[rule, default: 0] >= minimum, "\"\(rule)\" fired \(canaries[rule, default: 0]) times, not \(minimum): the corpus did not do what it should, or sentinel did not see it\n\(runLog.suffix(2000))")
            }
            #expect(status == 0, "nothing may be dropped on an ordinary load: \(sentinel.stderr.suffix(1500))")
        }
    }
}
