import Foundation
import Testing

/// What users and SIEM parsers read exactly: the command line's help and the demo's alerts, each
/// compared with a file under Fixtures/golden. After a change meant to show, write them anew with
///     SENTINEL_UPDATE_GOLDEN=1 swift test --filter GoldenTests
/// and read the diff before committing it.
@Suite struct GoldenTests {
    static let directory = packageRoot + "/Tests/sentinelTests/Fixtures/golden"
    static let updating = ProcessInfo.processInfo.environment["SENTINEL_UPDATE_GOLDEN"] == "1"

    private func compare(_ text: String, with name: String) throws {
        let path = Self.directory + "/" + name
        if Self.updating {
            try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == expected, "\(name) changed; if meant, SENTINEL_UPDATE_GOLDEN=1 swift test --filter GoldenTests writes it anew")
    }

    @Test(arguments: [["--help"], ["run", "--help"], ["record", "--help"], ["rules", "--help"], ["bosc", "--help"], ["version", "--help"]])
    func help(_ arguments: [String]) throws {
        let result = try sentinel(arguments)
        #expect(result.status == 0)
        try compare(result.stdout, with: "help-" + (arguments.count == 1 ? "sentinel" : arguments[0]) + ".txt")
    }

    @Test func theDemosAlertsAsText() throws {
        let result = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl"])
        #expect(result.status == 0)
        try compare(result.stdout, with: "demo-alerts.txt")
    }

    /// The JSON alerts with this machine's name taken out: it is the one thing that differs by host.
    @Test func theDemosAlertsAsJSON() throws {
        let result = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl", "-o", "json"])
        #expect(result.status == 0)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let hostname = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let text = result.stdout.replacingOccurrences(of: #""hostname":"\#(hostname)""#, with: #""hostname":"HOSTNAME""#)
        try compare(text, with: "demo-alerts.jsonl")
    }
}
