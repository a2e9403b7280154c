import Foundation
import Testing

/// sentinel judging events the test writes to its stdin (`--replay -`), its rules in a file the
/// test may rewrite, its alerts on stdout as JSON lines.
final class StdinRun: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let rulesPath: String
    let stdoutPath: String
    let stderrPath: String

    /// With `rules`, a rules file of them is made and given with --rules; `arguments` come after.
    init(rules: [String]? = nil, arguments: [String] = []) throws {
        let directory = try temporaryDirectory()
        rulesPath = directory + "/rules.json"
        stdoutPath = directory + "/alerts.jsonl"
        stderrPath = directory + "/stderr.txt"
        if let rules { try Self.write(rules, to: rulesPath) }
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: sentinelBinary)
        process.arguments = (rules == nil ? [] : ["--rules", rulesPath]) + ["--replay", "-", "-o", "json"] + arguments
        process.standardInput = input
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let judging = waitUntil(seconds: 20) { self.stderr.contains("judging the events on stdin") || !self.process.isRunning }
        try #require(judging && process.isRunning, "sentinel did not start: \(stderr)")
    }

    static func write(_ rules: [String], to path: String) throws {
        try (#"{"rules": ["# + rules.joined(separator: ",\n") + "]}\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func rewrite(_ rules: [String]) throws { try Self.write(rules, to: rulesPath) }

    func send(_ name: String, pid: Int) {
        input.fileHandleForWriting.write(Data((#"{"evt.type": "execve", "evt.time": \#(pid), "proc.pid": \#(pid), "proc.exepath": "/usr/bin/\#(name)", "proc.args": ["\#(name)"]}"# + "\n").utf8))
    }

    func hangUp() { kill(process.processIdentifier, SIGHUP) }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    var alerts: [[String: Any]] {
        ((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func rules(_ name: String) -> [[String: Any]] { alerts.filter { $0["rule"] as? String == name } }

    func finish() -> Int32 {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
