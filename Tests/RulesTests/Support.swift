import Engine
import Rules
import SentinelJSON

/// The package's root, found from this file's path, for the stock rules and fixtures.
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

let fixtures = packageRoot + "/Tests/RulesTests/Fixtures"

func source(_ name: String, _ text: String) -> JSONSource {
    JSONSource(name: name, bytes: Array(text.utf8))
}

/// Loads rule files given as text, in order.
func loadRules(_ files: [(String, String)]) throws(DiagnosticsError) -> RuleSet {
    try RuleLoader.load(sources: files.map { source($0.0, $0.1) })
}

/// Rule names that fire on events given as recording lines.
func firedRules(_ ruleSet: RuleSet, _ lines: [String]) -> [String] {
    let engine = Engine(rules: ruleSet.rules)
    var fired: [String] = []
    for (index, line) in lines.enumerated() {
        let diagnostics = Diagnostics()
        guard case .success(let cursor) = source("events", line).parse(),
              let event = EventCodec.decode(cursor, diagnostics: diagnostics) else {
            fatalError("fixture line \(index + 1) is not a valid event: \(diagnostics.all)")
        }
        engine.process(event) { fired.append($0.rule) }
    }
    return fired
}

func directoryEntries(_ path: String, suffix: String) -> [String] {
    listDirectory(path).filter { $0.hasSuffix(suffix) }
}
