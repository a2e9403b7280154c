import Foundation
import Testing
import Engine
import SentinelJSON
import Sensors

@Suite struct ReplaySensorTests {
    private func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "replay-\(UUID().uuidString).jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func malformedLinesAreReportedCountedAndSkipped() throws {
        let path = try write("""
        {"evt.type": "execve", "evt.time": 1, "proc.pid": 1, "proc.exepath": "/bin/sh", "proc.args": ["sh"]}

        {"evt.type": "execve", "evt.time": 2, "proc.pid": "two"}
        not json at all
        {"evt.type": "clone", "evt.time": 3, "proc.pid": 2, "proc.ppid": 1}
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var reported: [Diagnostic] = []
        let sensor = ReplaySensor(path: path) { reported.append($0) }
        var events: [Event] = []
        try sensor.run { events.append($0) }
        #expect(events.map(\.type) == [.execve, .clone])
        #expect(sensor.statistics.delivered == 2)
        #expect(sensor.statistics.dropped == 2, "the blank line is not an event, the two bad ones are counted")
        #expect(reported.map { "\($0.location!.line):\($0.location!.column) \($0.path) \($0.message)" } == [
            "3:51 proc.pid expected an integer, found a string",
            "4:1  invalid JSON: unexpected 'n', expected a value",
        ])
    }

    @Test func aMissingFileIsAnError() {
        let sensor = ReplaySensor(path: "/nonexistent/recording.jsonl") { _ in }
        #expect(throws: DiagnosticsError.self) { try sensor.run { _ in } }
    }

    @Test func stopEndsTheReplay() throws {
        let line = #"{"evt.type": "clone", "evt.time": 3, "proc.pid": 2, "proc.ppid": 1}"# + "\n"
        let path = try write(String(repeating: line, count: 100))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sensor = ReplaySensor(path: path) { _ in }
        var count = 0
        try sensor.run { _ in
            count += 1
            if count == 10 { sensor.stop() }
        }
        #expect(count == 10)
    }
}
