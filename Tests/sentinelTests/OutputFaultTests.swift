import Foundation
import Testing

/// Outputs under faults, each against the real thing that fails.
@Suite(.serialized) struct OutputFaultTests {
    /// A file output on a file system that fills up (a real tmpfs, full of a filler file): it is
    /// said once to be failing and holds its alerts while the other output goes on; once space
    /// returns it says it recovered and writes every alert, whole and once.
    @Test func aFullFileSystemIsSaidOnceAndNothingIsLost() throws {
        guard getuid() == 0 else {
            #expect(!LiveEnvironment.isCI, "mounting a tmpfs needs root")
            return
        }
        let directory = try temporaryDirectory()
        let small = directory + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try #require(try command(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small]).status == 0, "mount a tmpfs at \(small)")
        defer { _ = try? command(["umount", small]) }
        let full = small + "/alerts.jsonl", other = directory + "/other.jsonl"
        let config = try temporaryFile("sentinel.json", #"{"outputs": [{"type": "file", "path": "\#(full)"}, {"type": "file", "path": "\#(other)"}]}"#)
        let run = try StdinRun(rules: [ReloadTests.minerRule], arguments: ["--config", config])
        func lines(_ path: String) -> [Substring] { ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n") }

        _ = try command(["dd", "if=/dev/zero", "of=\(small)/filler", "bs=4096"])  // until the disk is full
        for pid in 1...500 { run.send("xmrig", pid: pid) }
        #expect(waitUntil(seconds: 15) { lines(other).count == 500 }, "the other output goes on: \(run.stderr)")
        #expect(waitUntil(seconds: 15) { run.stderr.contains("output file \(full) is failing: write to \(full): No space left on device") }, "\(run.stderr)")
        for pid in 501...1_000 { run.send("xmrig", pid: pid) }
        #expect(waitUntil(seconds: 15) { lines(other).count == 1_000 })
        try FileManager.default.removeItem(atPath: small + "/filler")
        #expect(waitUntil(seconds: 15) { run.stderr.contains("output file \(full): recovered after ") }, "\(run.stderr)")
        #expect(run.finish() == 0, "\(run.stderr)")

        let pids = lines(full).map { line -> Int in
            let alert = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            return Int((alert?["output"] as? String)?.split(separator: "=").last ?? "") ?? -1
        }
        #expect(pids == Array(1...1_000), "every alert once, whole, in order")
        #expect(run.stderr.components(separatedBy: "is failing").count == 2, "said once: \(run.stderr)")
        #expect(run.stderr.contains("output file \(full): 1000 delivered, 0 dropped, 0 failed"), "\(run.stderr)")
    }

    /// SIGTERM while an output is failing (an HTTP collector that reads and never answers): the
    /// run ends within its 30 s drain, the healthy output has every alert, and the failing one's
    /// are counted and printed (the exit status says alerts were lost).
    @Test func atSIGTERMAFailingOutputIsCountedAndTheRunEnds() throws {
        let collector = try HTTPCollector(["--stall"])
        // Stalling until the test ends, not released after its last use.
        defer { withExtendedLifetime(collector) {} }
        let url = "http://127.0.0.1:\(collector.port)/", file = try temporaryDirectory() + "/alerts.jsonl"
        let config = try temporaryFile("sentinel.json", #"{"outputs": [{"type": "file", "path": "\#(file)"}, {"type": "http", "url": "\#(url)", "batch": true, "batch_size": 100, "timeout_seconds": 1}]}"#)
        let run = try StdinRun(rules: [ReloadTests.minerRule], arguments: ["--config", config])
        for pid in 1...500 { run.send("xmrig", pid: pid) }
        #expect(waitUntil(seconds: 20) { run.stderr.contains("output http \(url) is failing") }, "\(run.stderr)")
        kill(run.process.processIdentifier, SIGTERM)
        let start = Date()
        #expect(waitUntil(seconds: 40) { !run.process.isRunning }, "the run ends within its drain")
        #expect(Date().timeIntervalSince(start) < 35)
        #expect(run.finish() == 1, "alerts were lost: \(run.stderr)")
        #expect(((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").count == 500)
        #expect(run.stderr.contains("output file \(file): 500 delivered, 0 dropped, 0 failed"), "\(run.stderr)")
        let line = run.stderr.split(separator: "\n").first { $0.hasPrefix("sentinel: output http \(url): 0 delivered, ") } ?? ""
        let counts = line.split(separator: " ").compactMap { Int($0) }
        #expect(counts.count == 3 && counts[1] + counts[2] == 500, "every alert of the failing output counted: \(line)")
    }
}
