import Foundation
import Testing

/// SIGHUP while events stream in: the rules are read anew and swapped between two events.
@Suite(.serialized) struct ReloadTests {
    static let minerRule = #"{"rule": "Miner", "condition": "evt.type = execve and proc.name = xmrig", "output": "miner pid=%proc.pid", "priority": "WARNING"}"#
    static let burstRule = #"{"rule": "Burst", "type": "threshold", "params": {"count": 3, "seconds": 60, "per": "proc.name"}, "condition": "evt.type = execve and proc.name = curl", "output": "burst", "priority": "NOTICE"}"#
    static let catRule = #"{"rule": "Cat", "condition": "evt.type = execve and proc.name = cat", "output": "cat pid=%proc.pid", "priority": "NOTICE"}"#

    @Test func aReloadUnderLoadJudgesEveryEventOnce() throws {
        let run = try StdinRun(rules: [Self.minerRule])
        let total = 4_000
        let writer = Thread {
            for pid in 1...total {
                run.send("xmrig", pid: pid)
                if pid % 200 == 0 { usleep(10_000) }
            }
        }
        writer.start()
        usleep(100_000)
        try run.rewrite([Self.minerRule, Self.catRule])
        run.hangUp()
        #expect(waitUntil(seconds: 10) { run.stderr.contains("sentinel: reloaded: 2 rules (1 kept, 1 new, 0 gone)") }, "\(run.stderr)")
        while !writer.isFinished { usleep(10_000) }
        run.send("cat", pid: total + 1)
        #expect(run.finish() == 0, "\(run.stderr)")
        let pids = run.rules("Miner").compactMap { ($0["output"] as? String)?.split(separator: "=").last.flatMap { Int($0) } }
        #expect(pids.count == total && Set(pids) == Set(1...total), "every event judged once across the swap: \(pids.count) alerts, \(Set(pids).count) distinct")
        #expect(run.rules("Cat").count == 1, "the new rule judges the events after the swap")
        #expect(run.stderr.contains("judging paused"))
    }

    @Test func anUnchangedRuleKeepsItsCountsAndAChangedOneStartsAfresh() throws {
        let run = try StdinRun(rules: [Self.burstRule, Self.minerRule])
        run.send("curl", pid: 1)
        run.send("curl", pid: 2)
        try run.rewrite([Self.burstRule, Self.catRule])
        run.hangUp()
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reloaded") }, "\(run.stderr)")
        run.send("curl", pid: 3)
        #expect(waitUntil(seconds: 5) { run.rules("Burst").count == 1 }, "two matches before the reload and one after make three: \(run.alerts)")
        try run.rewrite([Self.burstRule.replacingOccurrences(of: #""count": 3"#, with: #""count": 2"#)])
        run.hangUp()
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reloaded: 1 rules (0 kept, 1 new, 2 gone)") }, "\(run.stderr)")
        run.send("curl", pid: 4)
        #expect(run.finish() == 0)
        #expect(run.rules("Burst").count == 1, "the changed rule counts from nothing: one match is not two")
    }

    @Test func aBrokenReloadKeepsTheRulesInForceAndSaysSo() throws {
        let run = try StdinRun(rules: [Self.minerRule])
        run.send("xmrig", pid: 1)
        try run.rewrite([Self.minerRule, #"{"rule": "Broken", "condition": "evt.type = execve and proc.nme = x", "output": "x", "priority": "WARNING"}"#])
        run.hangUp()
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reload refused") }, "\(run.stderr)")
        run.send("xmrig", pid: 2)
        #expect(run.finish() == 0)
        #expect(run.stderr.contains("unknown field \"proc.nme\""), "the error is located: \(run.stderr)")
        #expect(run.rules("Miner").count == 2, "the rules in force went on judging")
        let refusal = try #require(run.rules("Reload refused").first)
        #expect(refusal["source"] as? String == "sentinel" && refusal["priority"] as? String == "Error")
    }

    /// A BoSC rule that did not change goes on training across a reload: the profile saved at exit
    /// counts every call, those before the reload and those after.
    @Test func anUnchangedBoSCRuleKeepsItsProfileAcrossAReload() throws {
        let bosc = #"{"rule": "Odd calls", "type": "bosc", "condition": "container.id != host", "params": {"epoch": 100, "min_training_seconds": 600, "profile": "container.image"}, "priority": "CRITICAL"}"#
        let state = try temporaryDirectory()
        let run = try StdinRun(rules: [bosc, Self.minerRule], arguments: ["--state-dir", state])
        let container = String(repeating: "c", count: 64)
        func calls(_ count: Int, from start: Int) {
            var lines = ""
            for index in start..<(start + count) {
                lines += #"{"evt.type": "syscall", "evt.time": \#(1_000 + index), "proc.pid": 500, "syscall.nr": \#([0, 1, 3, 232][index % 4]), "container.id": "\#(container)"}"# + "\n"
            }
            run.input.fileHandleForWriting.write(Data(lines.utf8))
        }
        run.input.fileHandleForWriting.write(Data((#"{"evt.type": "container", "evt.time": 1, "container.id": "\#(container)", "container.name": "app", "container.image": "app:1"}"# + "\n"
                                                   + #"{"evt.type": "execve", "evt.time": 2, "proc.pid": 500, "proc.ppid": 1, "proc.exepath": "/bin/server", "proc.args": ["server"], "proc.vpid": 1, "container.id": "\#(container)"}"# + "\n").utf8))
        calls(3_000, from: 0)
        try run.rewrite([bosc, Self.catRule])
        run.hangUp()
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reloaded: 2 rules (1 kept, 1 new, 1 gone)") }, "\(run.stderr)")
        calls(3_000, from: 3_000)
        #expect(run.finish() == 0, "\(run.stderr)")
        #expect(run.stderr.components(separatedBy: "no profile yet; training").count == 2, "one profile, started once: \(run.stderr)")
        let status = try sentinel(["bosc", "status", "--state-dir", state, "-o", "json"])
        let profile = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)\(status.stderr)")
        #expect(profile["phase"] as? String == "training")
        #expect(profile["calls"] as? Int == 6_000, "every call, before and after the reload: \(profile)")
    }

    /// A rules folder laid out as Kubernetes mounts a ConfigMap (each file a symlink into `..data`,
    /// itself a symlink to the current version), and a config file an editor saves by renaming.
    @Test func watchRulesReloadsOnAConfigMapSwapAndAnEditorsSave() throws {
        let directory = try temporaryDirectory()
        let files = FileManager.default
        try files.createDirectory(atPath: directory + "/..v1", withIntermediateDirectories: true)
        try StdinRun.write([Self.minerRule], to: directory + "/..v1/rules.json")
        try files.createSymbolicLink(atPath: directory + "/..data", withDestinationPath: "..v1")
        try files.createSymbolicLink(atPath: directory + "/rules.json", withDestinationPath: "..data/rules.json")
        let config = try temporaryFile("sentinel.json", #"{"rules": ["\#(directory)"], "watch_rules": true}"#)
        let run = try StdinRun(arguments: ["--config", config])
        #expect(waitUntil(seconds: 10) { run.stderr.contains("for changes (watch_rules)") }, "\(run.stderr)")
        run.send("xmrig", pid: 1)

        try files.createDirectory(atPath: directory + "/..v2", withIntermediateDirectories: true)
        try StdinRun.write([Self.minerRule, Self.catRule], to: directory + "/..v2/rules.json")
        try files.createSymbolicLink(atPath: directory + "/..data_tmp", withDestinationPath: "..v2")
        #expect(rename(directory + "/..data_tmp", directory + "/..data") == 0)
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reloaded: 2 rules (1 kept, 1 new, 0 gone)") }, "\(run.stderr)")
        run.send("cat", pid: 2)

        let saved = config + ".swp"
        try #"{"rules": ["\#(directory)"], "watch_rules": true, "min_priority": "WARNING"}"#.write(toFile: saved, atomically: false, encoding: .utf8)
        #expect(rename(saved, config) == 0)
        #expect(waitUntil(seconds: 10) { run.stderr.contains("reloaded: 1 rules (1 kept, 0 new, 1 gone)") }, "the NOTICE rule Cat is below the new minimum: \(run.stderr)")
        run.send("cat", pid: 3)
        run.send("xmrig", pid: 4)
        #expect(run.finish() == 0, "\(run.stderr)")
        #expect(run.rules("Cat").count == 1 && run.rules("Miner").count == 2)
        #expect(run.stderr.components(separatedBy: "sentinel: reloaded").count == 3, "one reload per change: \(run.stderr)")
    }
}
