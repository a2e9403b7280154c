import Foundation
import Testing
import Engine
@testable import Outputs
import OutputsTestSupport
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

    @Test func anUnwritablePathIsReportedWhereTheConfigNamesIt() throws {
        let spec = try #require(parseOutput(#"{"type": "file", "path": "/nonexistent-dir/alerts.jsonl"}"#))
        #expect(throws: Diagnostic.self) { try spec.open() }
        do {
            _ = try spec.open()
        } catch {
            #expect(error.description == "c.json:1:1: outputs[0]: cannot open output file /nonexistent-dir/alerts.jsonl: open /nonexistent-dir/alerts.jsonl: No such file or directory")
        }
    }
}

@Suite struct AlertDispatcherTests {
    @Test func aStalledSinkNeverBlocksAndItsLossesAreCounted() {
        let stalled = StalledSink()
        let other = StalledSink()
        let dispatcher = AlertDispatcher(sinks: [(stalled, AlertFilter()), (other, AlertFilter())], capacity: 2)
        let start = Date()
        for index in 0..<5 { dispatcher.dispatch(sampleAlert(rule: "r\(index)")) }
        #expect(Date().timeIntervalSince(start) < 1, "dispatch does not wait for the sink")
        other.release(5)
        stalled.release(2)
        #expect(dispatcher.drain(timeout: 5))
        let statistics = dispatcher.statistics
        #expect(statistics[0].delivered == 2 && statistics[0].dropped == 3)
        #expect(statistics[1].delivered == 2 && statistics[1].dropped == 3)
        #expect(stalled.rules == ["r0", "r1"])
    }

    /// A sink that fails (a full disk, a collector down) holds its alerts in its queue, is said
    /// to fail once its backoff is spent and to recover once, and delivers them all in order.
    @Test func aFailingSinkHoldsItsAlertsAndSaysSoOnceEachWay() {
        let failing = FailingSink(failures: 20)
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(failing, AlertFilter())], retryDelays: [0.001, 0.002]) { reports.append($0) }
        for index in 0..<50 { dispatcher.dispatch(sampleAlert(rule: "r\(index)")) }
        #expect(waitUntil(5) { failing.rules.count == 50 })
        #expect(dispatcher.drain(timeout: 5))
        #expect(failing.attempts == 70 && failing.rules == (0..<50).map { "r\($0)" })
        #expect(dispatcher.statistics[0].delivered == 50 && dispatcher.statistics[0].failed == 0)
        #expect(reports.lines.count == 2, "\(reports.lines)")
        #expect(reports.lines.first?.hasPrefix("output failing is failing: send: Connection refused; its alerts wait in its queue") == true, "\(reports.lines)")
        #expect(reports.lines.last?.hasPrefix("output failing: recovered after ") == true, "\(reports.lines)")
    }

    /// At the run's end a sink still failing gets one attempt per alert, then they count failed.
    @Test func atTheEndASinkStillFailingCountsWhatItHeld() {
        let failing = FailingSink()
        let dispatcher = AlertDispatcher(sinks: [(failing, AlertFilter())], retryDelays: [0.001, 0.05])
        for index in 0..<3 { dispatcher.dispatch(sampleAlert(rule: "r\(index)")) }
        #expect(waitUntil(5) { failing.attempts >= 4 }, "retried while the run goes on")
        #expect(dispatcher.drain(timeout: 5))
        #expect(dispatcher.statistics[0].failed == 3 && dispatcher.statistics[0].delivered == 0)
        #expect(dispatcher.statistics[0].lastError == "send: Connection refused")
    }

    @Test func eachSinkTakesWhatItsFilterAccepts() {
        let pager = MemorySink(), team = MemorySink(), tagged = MemorySink()
        let dispatcher = AlertDispatcher(sinks: [
            (pager, AlertFilter(minimumPriority: .critical)),
            (team, AlertFilter(rules: ["Shell spawned in container"])),
            (tagged, AlertFilter(minimumPriority: .notice, tags: ["mitre_exfiltration", "network"])),
        ])
        dispatcher.dispatch(sampleAlert(rule: "Shell spawned in container", priority: .warning))
        dispatcher.dispatch(sampleAlert(rule: "Module loaded", priority: .emergency, tags: ["host"]))
        dispatcher.dispatch(sampleAlert(rule: "Outbound to a miner", priority: .notice, tags: ["network"]))
        dispatcher.dispatch(sampleAlert(rule: "Outbound to a miner", priority: .debug, tags: ["network"]))
        #expect(dispatcher.drain(timeout: 5))
        #expect(pager.rules == ["Module loaded"])
        #expect(team.rules == ["Shell spawned in container"])
        #expect(tagged.rules == ["Outbound to a miner"])
    }
}

@Suite struct OutputSpecTests {
    @Test func filtersAndFormatsAreRead() throws {
        let spec = try #require(parseOutput(#"{"type": "stdout", "format": "json", "min_priority": "WARNING", "rules": ["A", "B"], "tags": ["shell"]}"#))
        #expect(spec.filter == AlertFilter(minimumPriority: .warning, rules: ["A", "B"], tags: ["shell"]))
        #expect(spec.sink.isSame(as: StdoutSink.Spec(format: .json)))
        #expect(!spec.sink.isSame(as: StdoutSink.Spec(format: .text)))
    }

    @Test func everyMistakeIsReportedWithItsPlace() {
        let diagnostics = Diagnostics()
        let spec = parseOutput(#"{"type": "program", "comand": "jq .", "min_priority": "LOUD", "tags": [], "keep_alive": "yes"}"#, diagnostics: diagnostics)
        #expect(spec == nil)
        #expect(diagnostics.errors.map(\.description) == [
            #"c.json:1:21: outputs[0].comand: unknown key "comand" (did you mean "command"?)"#,
            #"c.json:1:55: outputs[0].min_priority: unknown priority "LOUD" (expected one of: EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG)"#,
            #"c.json:1:71: outputs[0].tags: tags names at least one tag; leave it out to take them all"#,
            #"c.json:1:1: outputs[0]: missing required key "command""#,
            #"c.json:1:89: outputs[0].keep_alive: expected true or false, found a string"#,
        ])
    }

    @Test func stdoutWritesToTheDescriptorItIsGiven() throws {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let sink = try StdoutSink.Spec(format: .text, descriptor: ends[1]).open()
        try sink.write(sampleAlert())
        close(ends[1])
        let written = FileHandle(fileDescriptor: ends[0]).readDataToEndOfFile()
        #expect(String(decoding: written, as: UTF8.self) == AlertRendering.text(sampleAlert()) + "\n")
    }
}

final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
