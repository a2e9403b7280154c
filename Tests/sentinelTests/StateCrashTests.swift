import Foundation
import Testing

/// BoSC's profiles under a crash: sentinel killed (SIGKILL) at random moments while it saves
/// them, again and again; what is in the state directory always loads.
@Suite struct StateCrashTests {
    static let rule = #"{"rules": [{"rule": "Odd calls", "type": "bosc", "condition": "container.id != host", "params": {"epoch": 100, "min_training_seconds": 36000, "profile": "container.image"}, "priority": "CRITICAL"}]}"#

    /// Ten containers of ten images making calls 100 ms of event time apart: the rule saves its ten
    /// training profiles every 60 s of event time, every 600 events.
    static func events() -> String {
        var lines: [String] = []
        // Told apart by their first 12 digits, as container ids are.
        let containers = (0..<10).map { String(format: "%02x", $0) + String(repeating: "c", count: 62) }
        var time: UInt64 = 1_795_341_600_000_000_000
        for (index, container) in containers.enumerated() {
            lines.append(#"{"evt.type": "container", "evt.time": \#(time), "container.id": "\#(container)", "container.name": "app-\#(index)", "container.image": "shop/app:\#(index)"}"#)
            lines.append(#"{"evt.type": "execve", "evt.time": \#(time), "proc.pid": \#(100 + index), "proc.ppid": 1, "proc.exepath": "/usr/bin/worker", "proc.args": ["worker"], "proc.vpid": 1, "container.id": "\#(container)"}"#)
        }
        for step in 0..<30_000 {
            time += 100_000_000
            let index = step % 10
            lines.append(#"{"evt.type": "syscall", "evt.time": \#(time), "proc.pid": \#(100 + index), "syscall.nr": \#([0, 1, 3, 232, 0, 1, 7][step / 10 % 7]), "container.id": "\#(containers[index])"}"#)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func killedAtAnyMomentItLeavesEveryProfileWhole() throws {
        let state = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let rules = try temporaryFile("rules.json", Self.rule)
        let events = try temporaryFile("events.jsonl", Self.events())
        let run = ["--rules", rules, "--replay", events, "--state-dir", state, "-o", "json"]
        var killed = 0
        for round in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: sentinelBinary)
            process.arguments = run
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 100_000...900_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
            let status = try sentinel(["bosc", "status", "--state-dir", state])
            #expect(status.status == 0, "round \(round): what the killed run left does not load: \(status.stderr)")
        }
        #expect(killed >= 10, "most rounds were killed in the middle (\(killed) of 20)")
        let finished = try sentinel(run)
        #expect(finished.status == 0, "\(finished.stderr)")
        let left = (try? FileManager.default.subpathsOfDirectory(atPath: state)) ?? []
        #expect(!left.contains { $0.contains(".tmp-") }, "no temporary file of a killed save is left: \(left)")
        #expect(left.filter { $0.hasSuffix(".json") }.count == 10, "ten profiles: \(left)")
        let status = try sentinel(["bosc", "status", "--state-dir", state])
        #expect(status.stdout.split(separator: "\n").count == 10 && status.stdout.contains("training"), "\(status.stdout)")

        // The check can fail: half a profile does not load.
        let broken = try temporaryDirectory()
        let profile = try #require(left.first { $0.hasSuffix(".json") })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(state)/\(profile)"))
        let copy = "\(broken)/\(profile)"
        try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: copy))
        #expect(try sentinel(["bosc", "status", "--state-dir", broken]).status != 0)
    }
}
