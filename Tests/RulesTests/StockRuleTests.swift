import Testing
import Engine
import Rules
import SentinelJSON

/// The stock rules in rules/, judged by the test files in Fixtures/stock: every rule has a test
/// that must fire it and one where it must not fire.
@Suite struct StockRuleTests {
    // Read-only after start-up: each test runs on fresh copies of the rules.
    nonisolated(unsafe) static let ruleSet: RuleSet = {
        do {
            return try RuleLoader.load(paths: [packageRoot + "/rules"])
        } catch {
            fatalError("the stock rules do not load:\n\(error)")
        }
    }()

    nonisolated(unsafe) static let testCases: [RuleTestCase] = {
        let diagnostics = Diagnostics()
        let known = Set(ruleSet.summaries.map(\.name))
        var cases: [RuleTestCase] = []
        for file in directoryEntries(fixtures + "/stock", suffix: ".test.json") {
            guard case .success(let source) = JSONSource.load(path: fixtures + "/stock/" + file) else { fatalError("cannot read \(file)") }
            cases += RuleTests.read(source, knownRules: known, diagnostics: diagnostics)
        }
        if diagnostics.hasErrors { fatalError("bad stock fixtures:\n\(diagnostics.all.map(\.description).joined(separator: "\n"))") }
        return cases
    }()

    @Test func theStockRulesValidateWithoutWarnings() {
        #expect(Self.ruleSet.summaries.count >= 25)
        #expect(Self.ruleSet.warnings.isEmpty, "\(Self.ruleSet.warnings)")
        #expect(Self.ruleSet.rules.count == Self.ruleSet.summaries.count, "every stock rule is enabled")
    }

    @Test func theOptInAnomalyRuleLoadsWithTheStockRules() throws {
        let withAnomaly = try RuleLoader.load(paths: [packageRoot + "/rules", packageRoot + "/rules/anomaly"])
        #expect(withAnomaly.warnings.isEmpty, "\(withAnomaly.warnings)")
        let bosc = try #require(withAnomaly.rules.first { $0.name == "Unusual system calls in container" })
        #expect(bosc.builtin is BoSCRule && bosc.condition.eventTypes == [.syscall, .procexit, .boscepoch])
        #expect(!Self.ruleSet.rules.contains { $0.builtin is BoSCRule }, "BoSC is opt-in: not in rules/ itself")
    }

    /// The calls a busy server makes by the thousand (socket, fcntl, dup) reach user space only
    /// with the values the stock rules on them ask for; the other calls' rules leave theirs whole.
    @Test func theStockRulesNarrowTheBusyCallsInTheKernel() throws {
        let filters = Engine(rules: Self.ruleSet.rules).callFilters
        func filter(_ name: String) -> CallFilter? { filters[EventType(name: name)!] }
        #expect(filter("socket") == CallFilter(slot: .argument(0), values: [17]), "AF_PACKET")
        #expect(filter("fcntl") == CallFilter(slot: .argument(1), values: [0, 1030]), "F_DUPFD, F_DUPFD_CLOEXEC")
        for dup in ["dup", "dup2", "dup3"] { #expect(filter(dup) == CallFilter(slot: .result, values: [0, 1, 2]), "\(dup)") }
        #expect(filter("bpf") == CallFilter(slot: .argument(0), values: [5]), "BPF_PROG_LOAD")
        #expect(filter("unlinkat") == nil && filter("renameat2") == nil && filter("mount") == nil)
    }

    @Test(arguments: testCases.map { "\($0.file.split(separator: "/").last!): \($0.name)" })
    func fixture(_ label: String) {
        let testCase = Self.testCases.first { "\($0.file.split(separator: "/").last!): \($0.name)" == label }!
        let result = RuleTests.run(testCase, rules: Self.ruleSet.rules)
        #expect(result.failures.isEmpty, "\(result.failures)")
    }

    @Test func everyStockRuleIsProvedBothWays() {
        for rule in Self.ruleSet.summaries {
            #expect(Self.testCases.contains { $0.mustFire.contains(rule.name) }, "no test fires \"\(rule.name)\"")
            #expect(Self.testCases.contains { $0.mustNotFire.contains(rule.name) }, "no test keeps \"\(rule.name)\" quiet")
        }
    }

    @Test func aTestRunnerReportsWhatWentWrong() throws {
        let testCase = try #require(Self.testCases.first { $0.mustFire == ["Package manager in container"] })
        let wrong = RuleTestCase(file: "x", name: "inverted", events: testCase.events, mustFire: [],
                                 mustNotFire: testCase.mustFire, exclusive: false)
        let result = RuleTests.run(wrong, rules: Self.ruleSet.rules)
        #expect(result.failures == ["expected \"Package manager in container\" not to fire; it did"])
    }
}
