import Foundation
import Testing

/// The package root and the built binary, next to this test bundle.
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

let sentinelBinary: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("sentinel").path
}()

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs sentinel with `arguments` from the package root, feeding `input` to its stdin; `wrapper`
/// (a command such as setpriv with its options) runs it when given.
func sentinel(_ arguments: [String], input: String = "", as wrapper: [String] = []) throws -> RunResult {
    wrapper.isEmpty ? try runProgram(sentinelBinary, arguments, input: input)
        : try runProgram("/usr/bin/env", wrapper + [sentinelBinary] + arguments, input: input)
}

/// Runs a program from the package root to its end, feeding `input` to its stdin.
func runProgram(_ path: String, _ arguments: [String], input: String = "") throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    while process.isRunning { usleep(10_000) }
    return RunResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

func temporaryFile(_ name: String, _ contents: String) throws -> String {
    let directory = NSTemporaryDirectory() + "sentinel-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + name
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct CommandLineTests {
    @Test func helpListsTheCommands() throws {
        let result = try sentinel(["--help"])
        #expect(result.status == 0)
        for command in ["run", "rules", "fields"] { #expect(result.stdout.contains(command)) }
        let rulesHelp = try sentinel(["rules", "test", "--help"])
        #expect(rulesHelp.status == 0 && rulesHelp.stdout.contains("\"not_fire\""))
    }

    @Test func theStockRulesValidate() throws {
        let result = try sentinel(["rules", "validate", "rules/"])
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix("rules (55 enabled): valid\n"))
        #expect(result.stderr.isEmpty, "no warnings: \(result.stderr)")
    }

    @Test func aBrokenRuleSetIsRefusedWithEveryError() throws {
        let result = try sentinel(["--rules", "Tests/RulesTests/Fixtures/malformed/many_errors_at_once.json", "--replay", "demo/attack.jsonl"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("many_errors_at_once.json:13:20: rules[1].condition: column 1: unknown field \"proc.nmae\" (did you mean \"proc.name\"?)"))
        #expect(result.stderr.contains("rules[0].priority: unknown priority \"LOUD\""))
        #expect(result.stderr.contains("sentinel: 3 error(s) in the rule set"))
    }

    @Test func theDemoRecordingGivesFalcoJSONAlerts() throws {
        let result = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl", "-o", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let alerts = try result.stdoutLines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(alerts.count == 13)
        let shadow = try #require(alerts.first { $0["rule"] as? String == "Sensitive file read in container" })
        let fields = try #require(shadow["output_fields"] as? [String: Any])
        #expect(fields["fd.name"] as? String == "/etc/shadow")
        #expect(fields["container.name"] as? String == "shop-web")
        #expect(fields["container.image"] as? String == "shop/web:1.4")
        #expect(fields["proc.pname"] as? String == "sh")
        #expect(shadow["priority"] as? String == "Warning")
        #expect(result.stderr.contains("replay demo/attack.jsonl: 44 events delivered, 0 dropped; engine: 44 events, 13 alerts"))
        #expect(result.stderr.contains("output stdout: 13 delivered, 0 dropped, 0 failed"))
    }

    @Test func minimumPriorityKeepsOnlyGraveRules() throws {
        let result = try sentinel(["--rules", "rules/", "--replay", "demo/attack.jsonl", "--min-priority", "CRITICAL"])
        #expect(result.status == 0)
        #expect(result.stdoutLines.count == 4)
        #expect(result.stdoutLines.allSatisfy { $0.contains(": Critical ") })
    }

    @Test func malformedRecordedEventsAreReportedAndTheRestStillJudged() throws {
        let events = """
        {"evt.type": "execve", "evt.time": 1, "proc.pid": 10, "proc.exepath": "/usr/bin/xmrig", "proc.args": ["xmrig"]}
        {"evt.type": "execve", "evt.time": 2, "proc.pid": "x"}
        {"evt.type": "execve", "evt.time": 3, "proc.pid": 11, "proc.exepath": "/usr/bin/xmrig", "proc.args": ["xmrig"]}
        """
        let result = try sentinel(["--rules", "rules/", "--replay", "-"], input: events)
        #expect(result.status == 2)
        #expect(result.stdoutLines.count == 2)
        #expect(result.stderr.contains("-:2:51: proc.pid: expected an integer, found a string"))
        #expect(result.stderr.contains("2 events delivered, 1 dropped"))
    }

    @Test func badArgumentsExitTwo() throws {
        let result = try sentinel(["--rules", "rules/", "--min-priority", "LOUD"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("LOUD"))
        #expect(try sentinel(["--no-such-flag"]).status == 2)
    }

    /// README's tuning example: a later file that quiets two known-good behaviours, and the tests
    /// that prove it does, and that it does nothing more; without it, the stock rules fire.
    @Test func theTuningExampleQuietsWhatItNamesAndNothingElse() throws {
        let local = "Tests/sentinelTests/Fixtures/tuning/90-local.json", tests = "Tests/sentinelTests/Fixtures/tuning/local.test.json"
        let tuned = try sentinel(["rules", "test", "rules/", "--rules", local, tests])
        #expect(tuned.status == 0, "\(tuned.stdout)")
        #expect(tuned.stdoutLines.last == "3 passed, 0 failed")
        let stock = try sentinel(["rules", "test", "rules/", tests])
        #expect(stock.status == 1 && stock.stdoutLines.last == "1 passed, 2 failed", "\(stock.stdout)")
        let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        let example = try String(contentsOfFile: packageRoot + "/" + local, encoding: .utf8)
        #expect(readme.contains(example), "README shows \(local) as it is")
    }

    @Test func ruleTestsPassAndFailWithTheRightStatus() throws {
        let passing = try sentinel(["rules", "test", "rules/", "Tests/RulesTests/Fixtures/stock/network.test.json"])
        #expect(passing.status == 0)
        #expect(passing.stdoutLines.last == "21 passed, 0 failed")
        let failingFile = try temporaryFile("t.json", """
        {"tests": [{"name": "xmrig on the host is not a miner (wrong)", "fire": [], "not_fire": ["Crypto miner started"],
                    "events": [{"evt.type": "execve", "evt.time": 1, "proc.pid": 10, "proc.exepath": "/usr/bin/xmrig", "proc.args": ["xmrig"]}]}]}
        """)
        let failing = try sentinel(["rules", "test", "rules/", failingFile])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("expected \"Crypto miner started\" not to fire; it did"))
        #expect(failing.stdoutLines.last == "0 passed, 1 failed")
        let typo = try temporaryFile("t.json", #"{"tests": [{"name": "n", "fire": ["Crypto minor started"], "events": []}]}"#)
        let bad = try sentinel(["rules", "test", "rules/", typo])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("no rule \"Crypto minor started\" in the rule set (did you mean \"Crypto miner started\"?)"))
    }

    @Test func falcoRulesImportThenLoadListAndFire() throws {
        let fixtures = "Tests/FalcoImportTests/Fixtures/"
        let out = NSTemporaryDirectory() + "sentinel-import-" + UUID().uuidString
        let imported = try sentinel(["rules", "import", fixtures + "semantics/1-base.yaml", fixtures + "semantics/2-local.yaml", "--out", out])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdoutLines == [fixtures + "semantics/1-base.yaml: 2 of 3 rules, 2 of 2 macros, 2 of 2 lists carried",
                                         fixtures + "semantics/2-local.yaml: 1 of 1 rules, 0 of 0 macros, 0 of 0 lists carried",
                                         "wrote \(out)/1-base.json", "wrote \(out)/2-local.json"])
        #expect(imported.stderr.contains("1-base.yaml:49:3: warning: rule \"K8s audit rule\": not carried: source \"k8s_audit\""))
        let listed = try sentinel(["rules", "list", out])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdoutLines.contains { $0.hasPrefix("WARNING       enabled  Shell in container  [execve,execveat] tags=container,shell,mitre_execution,local") })
        #expect(listed.stdoutLines.contains { $0.hasPrefix("CRITICAL      disabled Read sensitive file") })
        // The imported rule judges the demo's shell in a container as the stock rule does.
        let replay = try sentinel(["--rules", out, "--replay", "demo/attack.jsonl", "-o", "json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdoutLines.contains { $0.contains("\"rule\":\"Shell in container\"") && $0.contains("container=shop-web") })

        let check = try sentinel(["rules", "import", "--check", fixtures + "not-carried/1-rules.yaml"])
        #expect(check.status == 1)
        #expect(check.stdout.contains("1 of 4 rules, 1 of 3 macros, 1 of 1 lists carried"))
        let broken = try sentinel(["rules", "import", fixtures + "load-errors/1-rules.yaml", "--out", out + "-broken"])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("sentinel: 7 error(s); nothing written"))
        #expect(!FileManager.default.fileExists(atPath: out + "-broken"))
    }

    /// Every field Falco's stable rules read (a list of the names, Fixtures/falco) is one sentinel
    /// knows, by name alone or with its [argument].
    @Test func everyFieldOfFalcosStableRulesIsKnown() throws {
        let listed = try String(contentsOfFile: packageRoot + "/Tests/sentinelTests/Fixtures/falco/stable-rule-fields.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(listed.count >= 60)
        let fields = try sentinel(["fields", "--json"])
        let list = try #require(JSONSerialization.jsonObject(with: Data(fields.stdout.utf8)) as? [[String: Any]])
        let known = Set(list.compactMap { ($0["name"] as? String)?.split(separator: "[").first.map(String.init) })
        #expect(listed.filter { !known.contains($0) } == [])
    }

    @Test func fieldsAreListed() throws {
        let result = try sentinel(["fields"])
        #expect(result.status == 0)
        #expect(result.stdoutLines.contains { $0.hasPrefix("proc.aname[N]") && $0.contains("string") })
        let json = try sentinel(["fields", "--json"])
        let fields = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(fields.contains { $0["name"] as? String == "fd.sport" && $0["type"] as? String == "number" })
    }

    @Test func aConfigFileChoosesOutputsAndFlagsOverrideIt() throws {
        let alerts = try temporaryFile("alerts.jsonl", "")
        try FileManager.default.removeItem(atPath: alerts)
        let config = try temporaryFile("sentinel.json", """
        {"rules": ["rules/"], "outputs": [{"type": "file", "path": "\(alerts)", "min_priority": "ERROR"}]}
        """)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "the config names no stdout output")
        let written = try String(contentsOfFile: alerts, encoding: .utf8).split(separator: "\n")
        #expect(written.count == 5, "4 Critical and 1 Error alerts")
        #expect(written.allSatisfy { $0.contains(#""priority":"Critical""#) || $0.contains(#""priority":"Error""#) })
        let both = try sentinel(["--config", config, "--replay", "demo/attack.jsonl", "-o", "text"])
        #expect(both.stdoutLines.count == 13, "-o adds stdout")
    }

    @Test func aBrokenConfigIsLocated() throws {
        let config = try temporaryFile("sentinel.json", """
        {"rules": ["rules/"],
         "outputs": [{"type": "syslog", "transport": "carrier-pigeon"}]}
        """)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("sentinel.json:2:46: outputs[0].transport: unknown transport \"carrier-pigeon\" (expected one of: relp, tcp, udp, unix)"))
    }

    @Test func aBrokenPacketCaptureSettingIsLocated() throws {
        let config = try temporaryFile("sentinel.json", """
        {"rules": ["rules/"],
         "pcap": {"snap_length": 64, "interfaces": ["veth1"], "packet_budget": 10}}
        """)
        let result = try sentinel(["--config", config, "--replay", "demo/attack.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("sentinel.json:2:26: pcap.snap_length: 64 is out of range 128...262144"), "\(result.stderr)")
        #expect(result.stderr.contains("pcap.packet_budget"), "every error at once: \(result.stderr)")
    }
}

@Suite struct LogRotationTests {
    @Test func sighupReopensTheAlertFile() throws {
        let alerts = try temporaryFile("alerts.jsonl", "")
        let config = try temporaryFile("sentinel.json", #"{"rules": ["rules/"], "outputs": [{"type": "file", "path": "\#(alerts)"}]}"#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sentinelBinary)
        process.arguments = ["--config", config, "--replay", "-"]
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        func miner(_ pid: Int) -> Data {
            Data((#"{"evt.type": "execve", "evt.time": 1, "proc.pid": \#(pid), "proc.exepath": "/usr/bin/xmrig", "proc.args": ["xmrig"]}"# + "\n").utf8)
        }
        func lines(_ path: String) -> Int {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        func waitFor(_ condition: () -> Bool) -> Bool {
            for _ in 0..<500 where !condition() { usleep(10_000) }
            return condition()
        }
        stdin.fileHandleForWriting.write(miner(1))
        #expect(waitFor { lines(alerts) == 1 })
        try FileManager.default.moveItem(atPath: alerts, toPath: alerts + ".1")
        kill(process.processIdentifier, SIGHUP)
        #expect(waitFor { FileManager.default.fileExists(atPath: alerts) }, "the file is created anew on SIGHUP")
        stdin.fileHandleForWriting.write(miner(2))
        try stdin.fileHandleForWriting.close()
        while process.isRunning { usleep(10_000) }
        #expect(process.terminationStatus == 0)
        #expect(lines(alerts + ".1") == 1)
        #expect(lines(alerts) == 1)
    }
}

extension LogRotationTests {
    /// Debian's logrotate, with the postrotate line a Falco deployment's config has, rotates the
    /// file three times while alerts stream in: every alert is in exactly one of the files.
    @Test func logrotateWithSigusr1KeepsEveryLine() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/logrotate") else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "logrotate is missing: script/test installs it")
            return
        }
        let alerts = try temporaryFile("alerts.jsonl", "")
        let directory = (alerts as NSString).deletingLastPathComponent
        let config = try temporaryFile("sentinel.json", #"{"rules": ["rules/"], "outputs": [{"type": "file", "path": "\#(alerts)"}]}"#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sentinelBinary)
        process.arguments = ["--config", config, "--replay", "-", "--append-output", "pid=%proc.pid"]
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        let rotation = directory + "/logrotate.conf"
        try """
        \(alerts) {
            rotate 10
            nocompress
            postrotate
                kill -USR1 \(process.processIdentifier)
            endscript
        }

        """.write(toFile: rotation, atomically: true, encoding: .utf8)
        let total = 3_000
        let writer = Thread {
            for pid in 1...total {
                stdin.fileHandleForWriting.write(Data((#"{"evt.type": "execve", "evt.time": \#(pid), "proc.pid": \#(pid), "proc.exepath": "/usr/bin/xmrig", "proc.args": ["xmrig"]}"# + "\n").utf8))
                if pid % 100 == 0 { usleep(20_000) }
            }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        for _ in 0..<3 {
            usleep(150_000)
            let logrotate = Process()
            logrotate.executableURL = URL(fileURLWithPath: "/usr/sbin/logrotate")
            logrotate.arguments = ["--force", "--state", directory + "/logrotate.state", rotation]
            try logrotate.run()
            logrotate.waitUntilExit()
            #expect(logrotate.terminationStatus == 0)
        }
        while process.isRunning { usleep(10_000) }
        #expect(process.terminationStatus == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("alerts.jsonl") }
        #expect(files.count == 4, "the file and its three rotations: \(files)")
        var pids: [Int] = []
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                pids.append(try #require((object["output_fields"] as? [String: Any])?["proc.pid"] as? Int))
            }
        }
        #expect(pids.count == total && Set(pids) == Set(1...total), "each alert once: \(pids.count) lines, \(Set(pids).count) distinct")
    }
}

@Suite struct ReadmeTests {
    /// README's field table is what `sentinel fields` prints, row for row: a field added to the
    /// registry, or a meaning changed, must be documented.
    @Test func everyFieldIsDocumented() throws {
        let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        let fields = try sentinel(["fields", "--json"])
        let list = try #require(JSONSerialization.jsonObject(with: Data(fields.stdout.utf8)) as? [[String: Any]])
        for field in list {
            let name = try #require(field["name"] as? String)
            let type = try #require(field["type"] as? String)
            let meaning = try #require(field["description"] as? String).replacingOccurrences(of: "|", with: "\\|")
            #expect(readme.contains("| `\(name)` | \(type) | \(meaning) |"), "README's row for \(name) is not `sentinel fields`' (\(meaning))")
        }
    }
}
