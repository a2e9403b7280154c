import Foundation
import Testing

/// `sentinel bosc ...` and the `bosc` rule type, as a user runs them.
@Suite struct BoSCCommandTests {
    static let container = "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e"
    /// A web server's loop: accept, read, write, close, and a little bookkeeping.
    static let normalLoop = ["accept4", "read", "getpid", "read", "write", "close", "epoll_wait", "write"]
    /// A shell spawned in the container.
    static let attack = ["clone", "execve", "brk", "mmap", "openat", "getdents64", "ptrace", "write", "exit_group"]

    /// strace-format lines: `calls` of the loop, then `attacks` times the attack.
    func straceLog(loops: Int, attacks: Int) -> String {
        var lines: [String] = []
        for index in 0..<loops { lines.append("4242  \(Self.normalLoop[index % Self.normalLoop.count])(3, 0x1) = 0") }
        for _ in 0..<attacks { for call in Self.attack { lines.append("4242  \(call)(0) = 0") } }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A recording of the container's calls, its image named first.
    func recording(loops: Int, attacks: Int, start: UInt64 = 1_700_000_000_000_000_000) -> String {
        var lines = ["{\"evt.type\": \"container\", \"evt.time\": \(start), \"container.id\": \"\(Self.container)\", \"container.name\": \"shop\", \"container.image\": \"shop/web:1.4\"}"]
        let numbers = ["accept4": 288, "read": 0, "getpid": 39, "write": 1, "close": 3, "epoll_wait": 232, "clone": 56, "execve": 59, "brk": 12,
                       "mmap": 9, "openat": 257, "getdents64": 217, "ptrace": 101, "exit_group": 231]
        let calls = (0..<loops).map { Self.normalLoop[$0 % Self.normalLoop.count] } + Array(repeating: Self.attack, count: attacks).flatMap { $0 }
        for (index, call) in calls.enumerated() {
            lines.append("{\"evt.type\": \"syscall\", \"evt.time\": \(start + UInt64(index + 1) * 1000), \"proc.pid\": 4242, \"container.id\": \"\(Self.container)\", \"syscall.nr\": \(numbers[call]!)}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func trainOnAnStraceLogThenJudgeAnother() throws {
        let normal = try temporaryFile("normal.strace", straceLog(loops: 8000, attacks: 0))
        let profile = (normal as NSString).deletingLastPathComponent + "/web.profile.json"
        // By default stability may end training only after 10 minutes, which a log without times never reaches.
        let whole = try sentinel(["bosc", "train", "--strace", normal, "--out", profile, "--image", "shop/web:1.4"])
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stderr.contains("8000 calls, 8 epochs") && whole.stderr.contains("ended by end_of_input"), "\(whole.stderr)")
        let trained = try sentinel(["bosc", "train", "--strace", normal, "--out", profile, "--image", "shop/web:1.4", "--min-training-seconds", "0"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("4000 calls, 4 epochs") && trained.stderr.contains("ended by stable"), "\(trained.stderr)")

        let judged = try temporaryFile("judged.strace", straceLog(loops: 3000, attacks: 30))
        let result = try sentinel(["bosc", "eval", "--profile", profile, "--strace", judged, "-o", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let epochs = lines.filter { $0["summary"] == nil }
        #expect(epochs.map { $0["epoch"] as? Int } == [1, 2, 3, 4])
        #expect(epochs.map { $0["calls"] as? Int } == [1000, 1000, 1000, 270])
        #expect(epochs.map { $0["partial"] as? Bool } == [false, false, false, true], "the attack's 270 calls after the third epoch are judged too")
        // The loop's bags are all known; the attack's are not, and the last, partial epoch has them all.
        #expect(epochs.map { $0["mismatches"] as? Int } == [0, 0, 0, 270])
        #expect(epochs.map { $0["anomalous"] as? Bool } == [false, false, false, true])
        let attacked = try temporaryFile("attacked.strace", straceLog(loops: 2500, attacks: 60))
        let flagged = try sentinel(["bosc", "eval", "--profile", profile, "--strace", attacked, "-o", "json"])
        let verdicts = try flagged.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.filter { $0["summary"] == nil }
        #expect(verdicts.map { $0["mismatches"] as? Int } == [0, 0, 500, 40])
        #expect(verdicts.map { $0["anomalous"] as? Bool } == [false, false, true, false], "more than 50 unknown bags, the default threshold")
        #expect(Set(verdicts[0].keys) == ["stream", "epoch", "calls", "windows", "mismatches", "unseen_mismatches", "anomalous", "partial"])
        #expect(verdicts.map { $0["unseen_mismatches"] as? Int } == [0, 0, 500, 40], "the attack's calls: never seen in training")
    }

    /// As a researcher runs it over many short traces: logs named by a directory and a glob after
    /// one --strace, each judged to its end (a trace shorter than an epoch gets its verdict), a
    /// summary per log with a score, and a log with a line that is not strace reported at that
    /// line while the rest is still judged.
    @Test func manyShortTracesGetVerdictsAndSummaries() throws {
        let normal = try temporaryFile("train.strace", straceLog(loops: 8000, attacks: 0))
        let directory = (normal as NSString).deletingLastPathComponent
        let profile = directory + "/short.profile.json"
        let trained = try sentinel(["bosc", "train", "--strace", normal, "--out", profile, "--min-training-seconds", "0"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let traces = directory + "/traces"
        try FileManager.default.createDirectory(atPath: traces, withIntermediateDirectories: true)
        try straceLog(loops: 400, attacks: 0).write(toFile: traces + "/a-quiet.strace", atomically: true, encoding: .utf8)
        try straceLog(loops: 100, attacks: 3).write(toFile: traces + "/b-attack.strace", atomically: true, encoding: .utf8)
        try (straceLog(loops: 200, attacks: 0) + "this is not strace\n" + straceLog(loops: 200, attacks: 0))
            .write(toFile: directory + "/c-broken.log", atomically: true, encoding: .utf8)
        let result = try sentinel(["bosc", "eval", "--profile", profile, "--strace", traces, directory + "/c-*.log", "--threshold", "10", "-o", "json"])
        #expect(result.status == 2, "a line that could not be read is bad input, reported after the rest is judged")
        #expect(result.stderr.contains("c-broken.log:201:1: not a line of strace output"), "\(result.stderr)")
        #expect(result.stderr.contains("c-broken.log: 1 line(s) could not be read and were passed over"))
        let lines = try result.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let epochs = lines.filter { $0["summary"] == nil }, summaries = lines.filter { $0["summary"] as? Bool == true }
        #expect(epochs.map { ($0["stream"] as! NSString).lastPathComponent } == ["a-quiet.strace", "b-attack.strace", "c-broken.log"])
        #expect(epochs.allSatisfy { $0["partial"] as? Bool == true }, "every trace is shorter than an epoch")
        #expect(epochs.map { $0["anomalous"] as? Bool } == [false, true, false])
        #expect(summaries.map { $0["calls"] as? Int } == [400, 127, 400])
        let attack = try #require(summaries.first { ($0["stream"] as? String)?.hasSuffix("b-attack.strace") == true })
        let windows = try #require(attack["windows"] as? Int), unknown = try #require(attack["unknown"] as? Int)
        #expect(windows > 0 && unknown > 10 && attack["largest"] as? Int == unknown)
        #expect(attack["score"] as? Double == Double(unknown) / Double(windows))
        #expect(summaries.first?["score"] as? Double == 0)

        let warned = try sentinel(["bosc", "eval", "--profile", profile, "--strace", traces, "--epoch", "100", "--threshold", "100"])
        #expect(warned.stderr.contains("warning: --threshold 100 is at or above the epoch's 100 calls"), "\(warned.stderr)")
        // --learn: an epoch under the threshold teaches the profile its unknown bags, so that the
        // same calls again are known.
        func unknownBags(_ extra: [String]) throws -> Int {
            let run = try sentinel(["bosc", "eval", "--profile", profile, "--strace", traces + "/b-attack.strace", "--epoch", "20", "--threshold", "1000", "-o", "json"] + extra)
            let summary = try run.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.first { $0["summary"] != nil }
            return try #require(summary?["unknown"] as? Int)
        }
        let unlearnt = try unknownBags([]), learnt = try unknownBags(["--learn"])
        #expect(learnt < unlearnt, "the attack repeats: once learnt, its bags are no longer unknown (\(learnt) against \(unlearnt))")
    }

    @Test func theRuleLearnsAlertsAndRemembersAcrossRuns() throws {
        let rules = packageRoot + "/Tests/sentinelTests/Fixtures/bosc/rules.json"
        let first = try temporaryFile("first.jsonl", recording(loops: 6000, attacks: 60))
        let stateDirectory = (first as NSString).deletingLastPathComponent + "/state"

        let learnt = try sentinel(["--rules", rules, "--replay", first, "--state-dir", stateDirectory, "-o", "json"])
        #expect(learnt.status == 0, "\(learnt.stderr)")
        #expect(learnt.stderr.contains("shop/web:1.4: no profile yet; training"))
        #expect(learnt.stderr.contains("shop/web:1.4: trained on 4000 calls in 4 epochs (ended by stable)"), "\(learnt.stderr)")
        let alert = try #require(learnt.stdoutLines.first.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] })
        #expect(alert["rule"] as? String == "Unusual system calls" && alert["priority"] as? String == "Critical")
        let fields = try #require(alert["output_fields"] as? [String: Any])
        #expect(fields["bosc.profile"] as? String == "shop/web:1.4" && fields["container.name"] as? String == "shop")
        // Training took 4000 calls and the loop's other 2000 made two quiet epochs. Each window with
        // an attack call in it is unknown: the alert comes at the attack's 11th call.
        #expect(fields["bosc.epoch"] as? Int == 3 && fields["bosc.mismatches"] as? Int == 11 && fields["bosc.calls"] as? Int == 11)
        let unseen = try #require(fields["bosc.new_syscalls"] as? String)
        #expect(Set(unseen.split(separator: ",")) == ["clone", "execve", "brk", "mmap", "openat", "getdents64", "ptrace", "exit_group"])
        #expect((alert["output"] as? String)?.contains("more than 10 unknown bags in epoch 3 (11 in its first 11 calls)") == true)
        #expect(learnt.stdoutLines.count == 1)

        // A new run knows the image from its first call: the attack alone is flagged in its first epoch.
        let second = try temporaryFile("second.jsonl", recording(loops: 500, attacks: 50))
        let remembered = try sentinel(["--rules", rules, "--replay", second, "--state-dir", stateDirectory, "-o", "json"])
        #expect(remembered.stderr.contains("shop/web:1.4: profile loaded, "), "\(remembered.stderr)")
        #expect(remembered.stdoutLines.count == 1 && remembered.stdoutLines[0].contains("\"bosc.epoch\":1"))

        let status = try sentinel(["bosc", "status", "--state-dir", stateDirectory, "-o", "json"])
        #expect(status.status == 0)
        let row = try #require(status.stdoutLines.first.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] })
        #expect(row["rule"] as? String == "Unusual_system_calls" && row["phase"] as? String == "detecting")
        #expect(row["container.image"] as? String == "shop/web:1.4" && row["epochs"] as? Int == 4 && row["calls"] as? Int == 4000)
    }

    @Test func callsBeforeTheImageIsKnownAreCountedNotJudged() throws {
        let rules = packageRoot + "/Tests/sentinelTests/Fixtures/bosc/rules.json"
        var lines = recording(loops: 20, attacks: 0).split(separator: "\n").map(String.init)
        lines.append(lines.removeFirst())  // the container's metadata last: its 20 calls have no image
        let path = try temporaryFile("early.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try sentinel(["--rules", rules, "--replay", path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("rule \"Unusual system calls\": 20 system calls not judged: their container's image was not known yet"), "\(result.stderr)")
    }

    @Test func aBrokenProfileStopsTheRunAndSaysWhere() throws {
        let rules = packageRoot + "/Tests/sentinelTests/Fixtures/bosc/rules.json"
        let recordingPath = try temporaryFile("calls.jsonl", recording(loops: 10, attacks: 0))
        let folder = (recordingPath as NSString).deletingLastPathComponent + "/state/rules/Unusual_system_calls"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "{\"sentinel_bosc_profile\": 1, \"key\": \"container.image\"\n".write(toFile: folder + "/image-x.json", atomically: true, encoding: .utf8)
        let result = try sentinel(["--rules", rules, "--replay", recordingPath, "--state-dir", (recordingPath as NSString).deletingLastPathComponent + "/state"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(folder + "/image-x.json:2:"), "\(result.stderr)")
    }
}
