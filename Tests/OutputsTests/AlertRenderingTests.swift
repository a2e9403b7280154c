import Foundation
import Testing
import Engine
@testable import Outputs
import SentinelJSON

@Suite struct AlertRenderingTests {
    @Test func textIsOneFalcoStyleLine() {
        let alert = sampleAlert(output: "evil\nforged: Critical fake alert")
        #expect(AlertRendering.text(alert) == "2026-11-22T10:00:00.123456789Z: Warning evil\\nforged: Critical fake alert")
    }

    @Test func jsonCarriesFalcosKeysWithTypedFields() throws {
        let line = AlertRendering.json(sampleAlert())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["time", "rule", "priority", "output", "output_fields", "tags", "hostname", "source"])
        #expect(object["rule"] as? String == "Shell spawned in container")
        #expect(object["priority"] as? String == "Warning")
        #expect(object["time"] as? String == "2026-11-22T10:00:00.123456789Z")
        #expect(object["source"] as? String == "syscall")
        #expect(object["tags"] as? [String] == ["container", "shell"])
        #expect(object["output"] as? String == "2026-11-22T10:00:00.123456789Z: Warning Shell spawned (cmdline=sh -c id)")
        let fields = try #require(object["output_fields"] as? [String: Any])
        #expect(fields["proc.cmdline"] as? String == "sh -c id")
        #expect(fields["proc.pid"] as? Int == 42)
        #expect(fields["proc.is_exe_written"] as? Bool == false)
        #expect(fields["container.name"] is NSNull)
    }
}

@Suite struct FileSinkTests {
    @Test func reopenAfterRotationWritesToTheNewFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/alerts.jsonl"
        let sink = try FileSink(path: path)
        try sink.write(sampleAlert(rule: "first"))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try sink.write(sampleAlert(rule: "second"))
        try sink.reopen()
        try sink.write(sampleAlert(rule: "third"))
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let fresh = try String(contentsOfFile: path, encoding: .utf8)
        #expect(rotated.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 2, "before the reopen, writes follow the moved file")
        #expect(fresh.contains("\"rule\":\"third\"") && !fresh.contains("second"))
    }

    @Test func anUnwritablePathIsAConfigError() throws {
        let diagnostics = Diagnostics()
        let config = try JSONParser.parse(#"{"type": "file", "path": "/nonexistent-dir/alerts.jsonl"}"#)
        let made = SinkRegistry.make(JSONCursor(node: config, path: "outputs[0]", source: JSONSource(name: "c.json", bytes: [])), diagnostics: diagnostics)
        #expect(made == nil)
        #expect(diagnostics.errors.first?.message == "cannot open /nonexistent-dir/alerts.jsonl: open /nonexistent-dir/alerts.jsonl: No such file or directory")
    }
}

@Suite struct AlertDispatcherTests {
    /// A sink that blocks until released, to stand for a stalled syslog server.
    final class StalledSink: AlertSink, @unchecked Sendable {
        static let typeName = "stalled"
        static let configKeys: [String] = []
        static func make(config: JSONObjectCursor, diagnostics: Diagnostics) -> AlertSink? { nil }
        let gate = DispatchSemaphore(value: 0)
        var written: [String] = []
        var label: String { "stalled" }
        func write(_ alert: Alert) throws {
            gate.wait()
            written.append(alert.rule)
        }
        func reopen() throws {}
        func flush() {}
    }

    final class FailingSink: AlertSink, @unchecked Sendable {
        static let typeName = "failing"
        static let configKeys: [String] = []
        static func make(config: JSONObjectCursor, diagnostics: Diagnostics) -> AlertSink? { nil }
        var attempts = 0
        var label: String { "failing" }
        func write(_ alert: Alert) throws {
            attempts += 1
            throw SystemError("send", code: ECONNREFUSED)
        }
        func reopen() throws {}
        func flush() {}
    }

    @Test func aStalledSinkNeverBlocksAndItsLossesAreCounted() {
        let stalled = StalledSink()
        let memory = StalledSink()
        let dispatcher = AlertDispatcher(sinks: [(stalled, .debug), (memory, .debug)], capacity: 2)
        let start = Date()
        for index in 0..<5 { dispatcher.dispatch(sampleAlert(rule: "r\(index)")) }
        #expect(Date().timeIntervalSince(start) < 1, "dispatch does not wait for the sink")
        for _ in 0..<5 { memory.gate.signal() }
        for _ in 0..<2 { stalled.gate.signal() }
        #expect(dispatcher.drain(timeout: 5))
        let statistics = dispatcher.statistics
        #expect(statistics[0].delivered == 2 && statistics[0].dropped == 3)
        #expect(statistics[1].delivered == 2 && statistics[1].dropped == 3)
        #expect(stalled.written == ["r0", "r1"])
    }

    @Test func failedWritesAreRetriedThenCountedAndReported() {
        let failing = FailingSink()
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(failing, .debug)], retryDelays: [0.001, 0.001]) { reports.append($0) }
        dispatcher.dispatch(sampleAlert())
        #expect(dispatcher.drain(timeout: 5))
        #expect(failing.attempts == 3)
        #expect(dispatcher.statistics[0].failed == 1)
        #expect(reports.lines.first?.contains("not delivered after 3 attempts") == true)
    }

    @Test func minimumPriorityPerSink() {
        let quiet = StalledSink()
        let dispatcher = AlertDispatcher(sinks: [(quiet, .critical)])
        dispatcher.dispatch(sampleAlert(priority: .warning))
        quiet.gate.signal()
        dispatcher.dispatch(sampleAlert(priority: .emergency))
        #expect(dispatcher.drain(timeout: 5))
        #expect(dispatcher.statistics[0].delivered == 1)
    }
}

final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
