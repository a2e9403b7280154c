import Engine
import SentinelJSON

/// Rule unit tests: an event stream and the rules that must and must not fire on it. A test file
/// is JSON:
///
///     { "setup": [ <events run before each test> ],
///       "tests": [ { "name": "...", "events": [ <events> ] or "recording": "file.jsonl",
///                    "fire": ["Rule"], "not_fire": ["Other rule"], "only": false } ] }
///
/// Each test runs on a fresh engine. With `"only": true`, no rule outside `fire` may fire.
public struct RuleTestCase {
    public let file: String
    public let name: String
    public let events: [Event]
    public let mustFire: [String]
    public let mustNotFire: [String]
    public let exclusive: Bool

    public init(file: String, name: String, events: [Event], mustFire: [String], mustNotFire: [String], exclusive: Bool) {
        self.file = file
        self.name = name
        self.events = events
        self.mustFire = mustFire
        self.mustNotFire = mustNotFire
        self.exclusive = exclusive
    }
}

public struct RuleTestResult {
    public let testCase: RuleTestCase
    /// Why the test failed; empty when it passed.
    public let failures: [String]
    /// Each rule that fired, with how often, in the order they first fired.
    public let fired: [(rule: String, count: Int)]

    public var passed: Bool { failures.isEmpty }
}

public enum RuleTests {
    static let fileKeys = ["$schema", "setup", "tests"]
    static let testKeys = ["name", "events", "recording", "fire", "not_fire", "only"]

    /// Reads a test file; every problem (including rule names the set does not define) is reported.
    public static func read(_ source: JSONSource, knownRules: Set<String>, diagnostics: Diagnostics) -> [RuleTestCase] {
        guard let root = diagnostics.take(source.parse()),
              let file = root.object(diagnostics, allowedKeys: fileKeys) else { return [] }
        let setup = file.optional("setup").map { events(in: $0, diagnostics) } ?? []
        var cases: [RuleTestCase] = []
        for testCursor in file.required("tests", diagnostics)?.array(diagnostics) ?? [] {
            guard let test = testCursor.object(diagnostics, allowedKeys: testKeys),
                  let name = test.required("name", diagnostics)?.string(diagnostics) else { continue }
            var stream = setup
            switch (test.optional("events"), test.optional("recording")) {
            case (let eventsCursor?, nil):
                stream += events(in: eventsCursor, diagnostics)
            case (nil, let recordingCursor?):
                guard let relative = recordingCursor.string(diagnostics) else { continue }
                stream += recording(relative, besides: source.name, cursor: recordingCursor, diagnostics)
            default:
                diagnostics.add(testCursor.diagnostic("a test gives either \"events\" or \"recording\""))
                continue
            }
            let mustFire = ruleNames(test.optional("fire"), knownRules, diagnostics)
            let mustNotFire = ruleNames(test.optional("not_fire"), knownRules, diagnostics)
            if mustFire.isEmpty && mustNotFire.isEmpty {
                diagnostics.add(testCursor.diagnostic("a test names at least one rule in \"fire\" or \"not_fire\""))
            }
            cases.append(RuleTestCase(file: source.name, name: name, events: stream, mustFire: mustFire, mustNotFire: mustNotFire,
                                      exclusive: test.optional("only")?.bool(diagnostics) ?? false))
        }
        return cases
    }

    /// Runs one test on a fresh engine over `rules`.
    public static func run(_ testCase: RuleTestCase, rules: [CompiledRule]) -> RuleTestResult {
        let engine = Engine(rules: rules.map(\.freshCopy))
        var fired: [(rule: String, count: Int)] = []
        for event in testCase.events {
            engine.process(event) { alert in
                if let index = fired.firstIndex(where: { $0.rule == alert.rule }) {
                    fired[index].count += 1
                } else {
                    fired.append((alert.rule, 1))
                }
            }
        }
        let firedNames = fired.map(\.rule)
        var failures: [String] = []
        let firedText = firedNames.isEmpty ? "no rule fired" : "fired: " + firedNames.joined(separator: ", ")
        for rule in testCase.mustFire where !firedNames.contains(rule) {
            failures.append("expected \"\(rule)\" to fire; it did not (\(firedText))")
        }
        for rule in testCase.mustNotFire where firedNames.contains(rule) {
            failures.append("expected \"\(rule)\" not to fire; it did")
        }
        if testCase.exclusive {
            for rule in firedNames where !testCase.mustFire.contains(rule) && !testCase.mustNotFire.contains(rule) {
                failures.append("\"\(rule)\" fired, and only the rules in \"fire\" may")
            }
        }
        return RuleTestResult(testCase: testCase, failures: failures, fired: fired)
    }

    private static func events(in cursor: JSONCursor, _ diagnostics: Diagnostics) -> [Event] {
        (cursor.array(diagnostics) ?? []).compactMap { EventCodec.decode($0, diagnostics: diagnostics) }
    }

    private static func recording(_ relative: String, besides testFile: String, cursor: JSONCursor, _ diagnostics: Diagnostics) -> [Event] {
        let directory = testFile.contains("/") ? String(testFile[..<testFile.lastIndex(of: "/")!]) + "/" : ""
        let path = relative.hasPrefix("/") ? relative : directory + relative
        guard let bytes = readWholeFile(path) else {
            diagnostics.add(cursor.diagnostic("cannot read the recording \(path)"))
            return []
        }
        var events: [Event] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if let event = EventCodec.decodeLine(Array(line), file: path, line: index + 1, diagnostics: diagnostics) { events.append(event) }
        }
        return events
    }

    private static func ruleNames(_ cursor: JSONCursor?, _ knownRules: Set<String>, _ diagnostics: Diagnostics) -> [String] {
        guard let cursor, let elements = cursor.array(diagnostics) else { return [] }
        var names: [String] = []
        for element in elements {
            guard let name = element.string(diagnostics) else { continue }
            if !knownRules.contains(name) {
                var message = "no rule \"\(name)\" in the rule set"
                if let suggestion = closestMatch(to: name, among: knownRules) { message += " (did you mean \"\(suggestion)\"?)" }
                diagnostics.add(element.diagnostic(message))
                continue
            }
            names.append(name)
        }
        return names
    }
}
