import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing

/// What an operator runs sentinel with: its version, its pages for Prometheus and a liveness
/// probe, and outputs into programs and HTTP collectors, each against the real thing.
@Suite(.serialized) struct OperationTests {
    @Test func versionIsPrintedBothWays() throws {
        let flag = try sentinel(["--version"])
        #expect(flag.status == 0 && flag.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let json = try sentinel(["version", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: String])
        #expect(Set(object.keys) == ["sentinel", "libbpf", "libpcap", "kernel"])
        #expect(object["sentinel"] == flag.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(object["kernel"]?.hasPrefix(release + " ") == true)
    }

    /// A run's pages, scraped by Debian's Prometheus and read back through its query API.
    @Test func prometheusScrapesTheMetricsPage() throws {
        guard let promtool = tool("promtool"), let prometheusBinary = tool("prometheus") else { return }
        let port = freePort()
        let run = try RunningSentinel(config: #"{"rules": ["rules/", "rules/anomaly/"], "outputs": [], "web": {"listen": "127.0.0.1:\#(port)"}}"#)
        try run.feed(contentsOf: packageRoot + "/demo/attack.jsonl")
        // The demo's last alert is counted once every event before it was judged.
        let counted = #"sentinel_alerts_total{rule="Shell spawned in container",priority="Notice",source="syscall"} 2"#
        // What the engine's thread publishes between events (twice a second at most) follows.
        let published = #"sentinel_table_entries{table="containers"} 2"#
        #expect(waitUntil(seconds: 10) { (try? fetch(port, "/metrics")).map { $0.contains(counted) && $0.contains(published) } == true })

        let page = try fetch(port, "/metrics")
        let checked = try runProgram(promtool, ["check", "metrics"], input: page)
        #expect(checked.status == 0, "promtool check metrics: \(checked.stdout)\(checked.stderr)")
        #expect(page.contains(#"sentinel_events_total{type="execve",source="syscall"}"#))
        #expect(page.contains(#"sentinel_bosc_profiles{rule="Unusual system calls in container",phase="training"}"#), "\(page)")
        #expect(page.contains(#"sentinel_output_alerts_total{output="stdout"# ) == false, "the config chose no outputs")
        let health = try fetch(port, "/healthz")
        #expect(health == #"{"status":"ok"}"# + "\n")
        let versions = try fetch(port, "/versions")
        #expect(versions.contains(#""sentinel":"#))

        let directory = try temporaryDirectory()
        let prometheusPort = freePort()
        try """
        global: {scrape_interval: 1s}
        scrape_configs:
          - job_name: sentinel
            static_configs: [{targets: ["127.0.0.1:\(port)"]}]
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: prometheusBinary)
        prometheus.arguments = ["--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                                "--web.listen-address=127.0.0.1:\(prometheusPort)"]
        prometheus.standardError = FileHandle.nullDevice
        prometheus.standardOutput = FileHandle.nullDevice
        try prometheus.run()
        defer { prometheus.terminate(); prometheus.waitUntilExit() }
        let query = "/api/v1/query?query=sentinel_alerts_total%7Brule%3D%22Shell%20spawned%20in%20container%22%7D"
        var answer = ""
        let scraped = waitUntil(seconds: 30) {
            answer = (try? fetch(prometheusPort, query)) ?? ""
            return answer.contains(#""result":[{"#)
        }
        #expect(scraped, "Prometheus has the series: \(answer)")
        let alerts = try run.countAlertsOf("Shell spawned in container")
        #expect(answer.contains(#""\#(alerts)"]"#), "the value Prometheus read is the alerts' count, \(alerts): \(answer)")
    }

    @Test func aProgramOutputReadsEveryAlert() throws {
        let directory = try temporaryDirectory()
        let config = try temporaryFile("sentinel.json", """
        {"rules": ["rules/"], "outputs": [{"type": "program", "command": "cat >> \(directory)/alerts.jsonl", "keep_alive": true}]}
        """)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: directory + "/alerts.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 13)
        #expect(result.stderr.contains("output program cat >> \(directory)/alerts.jsonl: 13 delivered, 0 dropped, 0 failed"))
    }

    @Test func anHTTPOutputPostsEveryAlertToACollector() throws {
        let collector = try HTTPCollector()
        let port = collector.port
        let config = try temporaryFile("sentinel.json", """
        {"rules": ["rules/"], "outputs": [{"type": "http", "url": "http://127.0.0.1:\(port)/", "min_priority": "CRITICAL"}]}
        """)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let requests = try String(contentsOfFile: collector.recordPath, encoding: .utf8).split(separator: "\n")
        #expect(requests.count == 4, "the demo's four Critical alerts, one request each")
        #expect(result.stderr.contains("output http http://127.0.0.1:\(port)/: 4 delivered, 0 dropped, 0 failed"))
    }

    @Test func aDryRunOfAReplayChecksTheConfigAndStops() throws {
        let ready = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl", "--dry-run"])
        #expect(ready.status == 0 && ready.stdout.isEmpty, "nothing judged: \(ready.stdout)")
        #expect(ready.stderr.contains("a replay needs nothing of this host: ready"))
        let broken = try temporaryFile("sentinel.json", #"{"rules": ["rules/"], "outputs": [{"type": "file"}]}"#)
        let refused = try sentinel(["--config", broken, "--replay", "demo/attack.jsonl", "--dry-run"])
        #expect(refused.status == 2 && refused.stderr.contains(#"outputs[0]: missing required key "path""#), "\(refused.stderr)")
    }

    @Test func aWebAddressThatIsNotOneIsLocated() throws {
        let config = try temporaryFile("sentinel.json", #"{"rules": ["rules/"], "web": {"listen": "localhost:80"}}"#)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(#"sentinel.json:1:41: web.listen: listen is a numeric address and a port"#), "\(result.stderr)")
    }
}

/// Tests/OutputsTests/Fixtures/http-receiver.py on a free port of 127.0.0.1, recording every
/// request it gets in `recordPath`; stopped when released.
final class HTTPCollector {
    let port: Int
    let recordPath: String
    private let process = Process()
    private let input = Pipe()

    /// `arguments`: the receiver's options (`--stall`: read requests and never answer).
    init(_ arguments: [String] = []) throws {
        recordPath = try temporaryDirectory() + "/requests.jsonl"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [packageRoot + "/Tests/OutputsTests/Fixtures/http-receiver.py", recordPath] + arguments
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        port = try #require(Int(String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                            "the receiver did not print its port")
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// sentinel replaying what the test feeds it on stdin, with a config; stopped when released.
final class RunningSentinel {
    let process = Process()
    private let input = Pipe()
    private let directory: String

    init(config: String) throws {
        let path = try temporaryFile("sentinel.json", config)
        directory = (path as NSString).deletingLastPathComponent
        process.executableURL = URL(fileURLWithPath: sentinelBinary)
        process.arguments = ["--config", path, "--replay", "-"]
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    func feed(contentsOf path: String) throws {
        input.fileHandleForWriting.write(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// How many alerts of `rule` the demo's events raise, from a separate replay of them.
    func countAlertsOf(_ rule: String) throws -> Int {
        let replay = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl", "-o", "json"])
        return replay.stdoutLines.filter { $0.contains(#""rule":"\#(rule)""#) }.count
    }
}

/// A tool from Debian's packages that script/test installs: in CI its absence fails the test.
func tool(_ name: String) -> String? {
    for directory in ["/usr/bin", "/usr/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
        return "\(directory)/\(name)"
    }
    #expect(!LiveEnvironment.isCI, "\(name) is missing: script/test installs it")
    return nil
}

/// GETs a path from 127.0.0.1 and returns the body of a 2xx answer.
func fetch(_ port: Int, _ path: String) throws -> String {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.timeoutInterval = 5
    let result = Mutex<Result<String, Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, error in
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        result.withLock { $0 = error.map { .failure($0) } ?? (200..<300 ~= status ? .success(String(decoding: data ?? Data(), as: UTF8.self)) : .failure(URLError(.badServerResponse))) }
        done.signal()
    }.resume()
    done.wait()
    return try result.withLock { $0! }.get()
}

/// The value of one series (`name` with its labels, as the page writes it) on the `/metrics` page
/// at 127.0.0.1:`port`; nil while the page or the series is not there.
func metricValue(_ name: String, port: Int) -> Int? {
    guard let page = try? fetch(port, "/metrics") else { return nil }
    return page.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
}

func freePort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            _ = bind(descriptor, raw, length)
            _ = getsockname(descriptor, raw, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "sentinel-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension OperationTests {
    /// README's config example is one a user can start from: it loads, and every output opens.
    @Test func theReadmesConfigExampleLoads() throws {
        let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "## Outputs\n").map { readme[$0.upperBound...] })
        let start = try #require(section.range(of: "```json\n"))
        let end = try #require(section[start.upperBound...].range(of: "```"))
        let directory = try temporaryDirectory()
        let example = String(section[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "/var/log/sentinel/", with: directory + "/")
        let config = try temporaryFile("sentinel.json", example)
        let result = try sentinel(["--config", config, "--rules", "rules/", "--replay", "demo/attack.jsonl", "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("outputs opened"), "\(result.stderr)")
    }
}
