import Testing
import Engine
import Rules
import SentinelJSON

@Suite struct RuleMergeTests {
    static let base = """
    {
      "lists": [{ "list": "shells", "items": ["sh", "bash"] }, { "list": "all_shells", "items": ["shells", "zsh"] }],
      "macros": [{ "macro": "spawned", "condition": "evt.type = execve" },
                 { "macro": "shell_spawned", "condition": "spawned and proc.name in (all_shells)" }],
      "rules": [{ "rule": "Shell", "condition": "shell_spawned", "output": "shell %proc.name", "priority": "WARNING", "tags": ["a"] }]
    }
    """
    static let zsh = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 2, "proc.exepath": "/bin/zsh", "proc.args": ["zsh"]}"#
    static let fish = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 3, "proc.exepath": "/bin/fish", "proc.args": ["fish"], "user.uid": 0}"#
    static let bash = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 4, "proc.exepath": "/bin/bash", "proc.args": ["bash"], "user.uid": 1000}"#

    @Test func listsNestAndMacrosExpandInsideMacros() throws {
        let ruleSet = try loadRules([("base.json", Self.base)])
        #expect(firedRules(ruleSet, [Self.zsh, Self.bash, Self.fish]) == ["Shell", "Shell"])
    }

    /// A list item is condition text, as in Falco's files: one written in quotes stands for what
    /// is inside them (Falco's own lists write networks as '"10.0.0.0/8"').
    @Test func aQuotedListItemIsItsText() throws {
        let ruleSet = try loadRules([("nets.json", #"""
            {"lists": [{"list": "private_networks", "items": ["\"10.0.0.0/8\"", "'192.168.0.0/16'"]},
                       {"list": "odd_names", "items": ["\"a b\"", "\""]}],
             "rules": [{"rule": "Private", "condition": "evt.type = connect and fd.snet in (private_networks)", "output": "%fd.name", "priority": "NOTICE"},
                       {"rule": "Odd", "condition": "evt.type = execve and proc.name in (odd_names)", "output": "%proc.name", "priority": "NOTICE"}]}
            """#)])
        let connect = #"{"evt.type": "connect", "evt.time": 1, "proc.pid": 5, "fd.cip": "10.0.0.5", "fd.cport": 40000, "fd.sip": "192.168.1.1", "fd.sport": 80}"#
        let spaced = #"{"evt.type": "execve", "evt.time": 2, "proc.pid": 6, "proc.exepath": "/x/a b", "proc.args": ["a b"]}"#
        let quote = #"{"evt.type": "execve", "evt.time": 3, "proc.pid": 7, "proc.exepath": "/x/q", "proc.args": ["q"], "proc.name": "\""}"#
        #expect(firedRules(ruleSet, [connect, spaced, quote]) == ["Private", "Odd", "Odd"])
    }

    /// Imported Falco files (an `imported` key) and sentinel's own keep their lists and macros
    /// apart: both may define `shells` and `spawned`, each set's rules mean their own, and a name
    /// only the other set defines is still found there, for use and for changes.
    @Test func importedFilesKeepTheirNamesApart() throws {
        let imported = """
        {"imported": {"from": "falco_rules.yaml"},
         "lists": [{"list": "shells", "items": ["fish"]}],
         "macros": [{"macro": "spawned", "condition": "evt.type = execve and user.uid = 0"}, {"macro": "falco_only", "condition": "proc.name = bash"}],
         "rules": [{"rule": "Falco shell", "condition": "spawned and proc.name in (shells)", "output": "%proc.name", "priority": "NOTICE"}]}
        """
        let mine = """
        {"rules": [{"rule": "Mine", "condition": "spawned and falco_only", "output": "%proc.name", "priority": "NOTICE"}],
         "macros": [{"macro": "falco_only", "condition": "and user.uid = 1000", "append": true}]}
        """
        let ruleSet = try loadRules([("base.json", Self.base), ("falco.json", imported), ("mine.json", mine)])
        // zsh: sentinel's Shell only; fish (uid 0): Falco's only; bash (uid 1000): Shell and Mine.
        #expect(firedRules(ruleSet, [Self.zsh]) == ["Shell"])
        #expect(firedRules(ruleSet, [Self.fish]) == ["Falco shell"])
        #expect(firedRules(ruleSet, [Self.bash]) == ["Shell", "Mine"])
    }

    /// What several rules share (here the macro `root_shell` and the test on proc.name) is judged
    /// once per event and kept for that event only: the answer changes from event to event, and
    /// a second engine over the same rules keeps answers of its own.
    @Test func sharedSubconditionsAnswerForTheirOwnEventOnly() throws {
        let rules = """
        {"macros": [{"macro": "root_shell", "condition": "evt.type = execve and proc.name in (sh, bash, zsh) and user.uid = 0"}],
         "rules": [{"rule": "A", "condition": "root_shell and proc.name != zsh", "output": "%proc.name", "priority": "NOTICE"},
                   {"rule": "B", "condition": "root_shell or proc.name = fish", "output": "%proc.name", "priority": "NOTICE"},
                   {"rule": "C", "condition": "evt.type = execve and not root_shell", "output": "%proc.name", "priority": "NOTICE"}]}
        """
        let ruleSet = try loadRules([("shared.json", rules)])
        let root = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 8, "proc.exepath": "/bin/zsh", "proc.args": ["zsh"], "user.uid": 0}"#
        #expect(firedRules(ruleSet, [Self.bash, root, Self.fish, root]) == ["C", "B", "B", "C", "B"])
        #expect(firedRules(ruleSet, [root]) == ["B"], "a new engine: no answer carried over from the last one's event 2")
        #expect(firedRules(ruleSet, [Self.zsh, Self.bash]) == ["C", "C"])
    }

    @Test func aLaterFileAppendsToAList() throws {
        let ruleSet = try loadRules([("base.json", Self.base), ("local.json", #"{"lists": [{"list": "shells", "items": ["fish"], "append": true}]}"#)])
        #expect(firedRules(ruleSet, [Self.fish]) == ["Shell"])
    }

    @Test func aLaterFileReplacesAListWithOverride() throws {
        let ruleSet = try loadRules([("base.json", Self.base),
                                     ("local.json", #"{"lists": [{"list": "shells", "items": ["fish"], "override": {"items": "replace"}}]}"#)])
        #expect(firedRules(ruleSet, [Self.bash, Self.fish]) == ["Shell"])
    }

    @Test func appendingToAConditionNarrowsTheWholeCondition() throws {
        let ruleSet = try loadRules([("base.json", Self.base),
                                     ("local.json", #"{"rules": [{"rule": "Shell", "condition": "and user.uid = 0", "override": {"condition": "append"}}]}"#)])
        #expect(firedRules(ruleSet, [Self.bash, Self.fish, Self.zsh]) == [])
        let widened = try loadRules([("base.json", Self.base),
                                     ("local.json", #"{"rules": [{"rule": "Shell", "condition": "or proc.name = fish", "append": true}]}"#)])
        #expect(firedRules(widened, [Self.fish, Self.bash]) == ["Shell", "Shell"])
    }

    @Test func aMacroOverrideReachesRulesOfEarlierFiles() throws {
        let ruleSet = try loadRules([("base.json", Self.base),
                                     ("local.json", #"{"macros": [{"macro": "spawned", "condition": "evt.type = execve and user.uid = 1000", "override": {"condition": "replace"}}]}"#)])
        #expect(firedRules(ruleSet, [Self.zsh, Self.bash]) == ["Shell"])
    }

    @Test func rulesAreSwitchedOffAndRetuned() throws {
        let off = try loadRules([("base.json", Self.base), ("local.json", #"{"rules": [{"rule": "Shell", "enabled": false}]}"#)])
        #expect(off.rules.isEmpty)
        #expect(off.summaries.map(\.enabled) == [false])
        let retuned = try loadRules([("base.json", Self.base), ("local.json", """
            {"rules": [{"rule": "Shell", "priority": "CRITICAL", "tags": ["b"], "override": {"priority": "replace", "tags": "append"}}]}
            """)])
        #expect(retuned.rules.first?.priority == .critical)
        #expect(retuned.rules.first?.tags == ["a", "b"])
    }

    /// A later file switches off a rule whose output names its type's findings: that output is
    /// still checked, and valid.
    @Test func aBuiltinRuleSwitchedOffStillLoads() throws {
        let stock = try RuleLoader.load(paths: [packageRoot + "/rules"])
        let scan = try #require(stock.summaries.first { $0.builtinType == "threshold" })
        var sources = stock.files.compactMap { file -> JSONSource? in
            guard case .success(let source) = JSONSource.load(path: file) else { return nil }
            return source
        }
        sources.append(source("off.json", #"{"rules": [{"rule": "\#(scan.name)", "enabled": false}]}"#))
        let off = try RuleLoader.load(sources: sources)
        #expect(off.summaries.first { $0.name == scan.name }?.enabled == false)
    }

    @Test func exceptionsInBothFalcoForms() throws {
        let ruleSet = try loadRules([("base.json", Self.base), ("local.json", """
            {"rules": [{"rule": "Shell", "override": {"exceptions": "append"}, "exceptions": [
              {"name": "root_zsh", "fields": ["proc.name", "user.uid"], "comps": ["=", "in"], "values": [["zsh", [0, 1]]]},
              {"name": "bash_users", "fields": "user.uid", "comps": "in", "values": [1000, 1001]}
            ]}]}
            """)])
        let rootZsh = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 5, "proc.exepath": "/bin/zsh", "proc.args": ["zsh"], "user.uid": 0}"#
        let userZsh = #"{"evt.type": "execve", "evt.time": 1, "proc.pid": 6, "proc.exepath": "/bin/zsh", "proc.args": ["zsh"], "user.uid": 7}"#
        #expect(firedRules(ruleSet, [rootZsh, userZsh, Self.bash]) == ["Shell"])
    }

    @Test func errorsInSeveralFilesComeTogetherInFileOrder() {
        #expect(throws: DiagnosticsError.self) {
            try loadRules([("a.json", #"{"rules": [{"rule": "A", "condition": "evt.type = execve and proc.nmae = x", "output": "o", "priority": "WARNING"}]}"#),
                           ("b.json", #"{"rules": [{"rule": "A", "condition": "evt.type = execve", "output": "o", "priority": "WARNING"}]}"#)])
        }
        do {
            _ = try loadRules([("a.json", #"{"rules": [{"rule": "A", "condition": "evt.type = execve and proc.nmae = x", "output": "o", "priority": "WARNING"}]}"#),
                               ("b.json", #"{"rules": [{"rule": "A", "condition": "evt.type = execve", "output": "o", "priority": "LOUD"}]}"#)])
        } catch {
            // a.json's error is found when compiling, after b.json was read, yet it is listed first.
            #expect(error.diagnostics.map(\.file) == ["a.json", "b.json"])
        }
    }

    /// As in Falco, an `in` exception may name a list, so that a later file extends the
    /// exception by appending to the list; elsewhere a value is only itself.
    @Test func exceptionValuesOfInMayNameLists() throws {
        let ruleSet = try loadRules([("base.json", Self.base), ("local.json", """
            {"lists": [{"list": "trusted_users", "items": [1000]}],
             "rules": [{"rule": "Shell", "override": {"exceptions": "append"}, "exceptions": [
               {"name": "trusted", "fields": "user.uid", "values": ["trusted_users"]},
               {"name": "named", "fields": ["proc.name", "proc.name"], "comps": ["in", "="], "values": [["all_shells", "all_shells"]]}
             ]}]}
            """), ("later.json", #"{"lists": [{"list": "trusted_users", "items": [0], "append": true}]}"#)])
        #expect(firedRules(ruleSet, [Self.bash, Self.fish, Self.zsh]) == ["Shell"], "zsh, whose uid is unknown, is the only one left")
    }

    @Test func rulesThatWatchEveryEventAreWarnedAbout() throws {
        let ruleSet = try loadRules([("w.json", #"{"rules": [{"rule": "Wide", "condition": "proc.name = x or user.uid = 0", "output": "o", "priority": "DEBUG"}]}"#)])
        #expect(ruleSet.warnings.first?.message.contains("does not restrict evt.type") == true)
    }

    @Test func minimumPriorityLeavesLesserRulesOut() throws {
        let ruleSet = try RuleLoader.load(sources: [source("base.json", Self.base)], minimumPriority: .error)
        #expect(ruleSet.rules.isEmpty)
        #expect(ruleSet.summaries.count == 1)
    }
}

@Suite struct ThresholdRuleTests {
    static let rule = """
    {"rules": [{"rule": "Burst", "type": "threshold", "params": {"count": 3, "seconds": 10, "per": "proc.name"},
                "condition": "evt.type = connect", "priority": "WARNING"}]}
    """

    private func connect(_ name: String, pid: Int, seconds: Int) -> [String] {
        [#"{"evt.type": "execve", "evt.time": \#(seconds)000000000, "proc.pid": \#(pid), "proc.exepath": "/bin/\#(name)", "proc.args": ["\#(name)"]}"#,
         #"{"evt.type": "connect", "evt.time": \#(seconds)000000001, "proc.pid": \#(pid), "fd.cip": "10.0.0.1", "fd.cport": 1000, "fd.sip": "10.0.0.2", "fd.sport": 80}"#]
    }

    @Test func firesOnTheCountWithinTheWindowAndStartsAgain() throws {
        let ruleSet = try loadRules([("t.json", Self.rule)])
        let lines = (1...3).flatMap { connect("a", pid: $0, seconds: $0) } + (4...6).flatMap { connect("a", pid: $0, seconds: $0) }
        #expect(firedRules(ruleSet, lines) == ["Burst", "Burst"])
    }

    @Test func spreadOutMatchesAndOtherKeysDoNotAddUp() throws {
        let ruleSet = try loadRules([("t.json", Self.rule)])
        let slow = connect("a", pid: 1, seconds: 1) + connect("a", pid: 2, seconds: 8) + connect("a", pid: 3, seconds: 20)
        #expect(firedRules(ruleSet, slow) == [])
        let mixed = connect("a", pid: 1, seconds: 1) + connect("b", pid: 2, seconds: 2) + connect("a", pid: 3, seconds: 3)
        #expect(firedRules(ruleSet, mixed) == [])
    }

    /// A scan touches many destinations; a busy client makes as many connections to one.
    @Test func distinctCountsDifferentValuesOnly() throws {
        let ruleSet = try loadRules([("t.json", """
            {"rules": [{"rule": "Scan", "type": "threshold", "params": {"count": 3, "seconds": 10, "distinct": ["fd.sip", "fd.sport"]},
                        "condition": "evt.type = connect", "priority": "WARNING"}]}
            """)])
        func connect(to port: Int, at seconds: Int) -> String {
            #"{"evt.type": "connect", "evt.time": \#(seconds)000000000, "proc.pid": 7, "fd.cip": "10.0.0.1", "fd.cport": \#(40000 + seconds), "fd.sip": "10.0.0.2", "fd.sport": \#(port)}"#
        }
        #expect(firedRules(ruleSet, (1...9).map { connect(to: 80, at: $0) }) == [], "nine connections to one server")
        #expect(firedRules(ruleSet, [connect(to: 80, at: 1), connect(to: 80, at: 2), connect(to: 81, at: 3), connect(to: 82, at: 4)]) == ["Scan"])
        #expect(firedRules(ruleSet, [connect(to: 80, at: 1), connect(to: 81, at: 12), connect(to: 82, at: 23)]) == [], "spread beyond the window")
        #expect(firedRules(ruleSet, (1...6).map { connect(to: 80 + $0, at: $0) }) == ["Scan", "Scan"], "counting starts again after firing")
    }

    @Test func distinctNamesKnownFields() {
        let rules = #"{"rules": [{"rule": "Scan", "type": "threshold", "params": {"count": 3, "seconds": 10, "distinct": ["fd.sip", "fd.sprot"]}, "condition": "evt.type = connect", "priority": "WARNING"}]}"#
        #expect {
            try loadRules([("t.json", rules)])
        } throws: { error in
            "\(error)".contains("unknown field \"fd.sprot\" for distinct (did you mean \"fd.sport\"?)")
        }
    }

    @Test func theDefaultOutputNamesTheFinding() throws {
        let ruleSet = try loadRules([("t.json", Self.rule)])
        let engine = Engine(rules: ruleSet.rules)
        var outputs: [String] = []
        let diagnostics = Diagnostics()
        for line in (1...3).flatMap({ connect("a", pid: $0, seconds: $0) }) {
            guard case .success(let cursor) = source("e", line).parse(), let event = EventCodec.decode(cursor, diagnostics: diagnostics) else { continue }
            engine.process(event) { outputs.append($0.output) }
        }
        #expect(outputs == ["3 matching events in 10 s (a)"])
    }
}
