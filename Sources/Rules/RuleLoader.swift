import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loaded rule set: the compiled enabled rules, and a summary of every rule for `rules list`.
public struct RuleSet {
    public struct Summary: Sendable {
        public let name: String
        public let priority: Priority
        public let enabled: Bool
        public let tags: [String]
        public let eventTypes: [EventType]
        public let builtinType: String?
        public let file: String
    }

    public let rules: [CompiledRule]
    public let summaries: [Summary]
    public let warnings: [Diagnostic]
    public let files: [String]
}

/// Loads rule files: reads each, merges them in name order (later files append to or override
/// earlier definitions), expands macros and lists, applies exceptions, and compiles. Every error of
/// the whole set is collected and thrown together.
public enum RuleLoader {
    /// Loads every `*.json` in each directory (in name order) and each file named directly.
    public static func load(paths: [String], minimumPriority: Priority = .debug) throws(DiagnosticsError) -> RuleSet {
        let diagnostics = Diagnostics()
        var files: [String] = []
        for path in paths {
            guard let found = diagnostics.take(listRuleFiles(path)) else { continue }
            if found.isEmpty { diagnostics.add(Diagnostic(file: path, location: nil, path: "", message: "no *.json rule files in this directory")) }
            files += found
        }
        var sources: [JSONSource] = []
        for file in files {
            if let source = diagnostics.take(JSONSource.load(path: file)) { sources.append(source) }
        }
        return try load(sources: sources, minimumPriority: minimumPriority, diagnostics: diagnostics)
    }

    /// Loads rule files already in memory, in the order given.
    public static func load(sources: [JSONSource], minimumPriority: Priority = .debug, diagnostics: Diagnostics = Diagnostics()) throws(DiagnosticsError) -> RuleSet {
        var merger = RuleMerger(diagnostics: diagnostics)
        for source in sources {
            merger.merge(RuleFileReader.read(source, diagnostics: diagnostics))
        }
        let expander = MacroExpander(lists: merger.lists, macros: merger.macros, brokenMacros: merger.brokenMacros, diagnostics: diagnostics)
        // Every macro is checked where it is, whether a rule uses it or not; what a rule meets again
        // through it is the same diagnostic, kept once.
        for (key, macro) in merger.macros.sorted(by: { ($0.key.name, $0.key.scope == .imported ? 1 : 0) < ($1.key.name, $1.key.scope == .imported ? 1 : 0) }) {
            if let expanded = expander.expand(macro.condition, in: key.scope) { _ = ConditionCompiler.compile(expanded, diagnostics: diagnostics) }
        }
        var compiled: [CompiledRule] = []
        var summaries: [RuleSet.Summary] = []
        // Every rule's whole condition first, so that what several share is judged once per event.
        let fullConditions: [String: Expression] = merger.ruleOrder.reduce(into: [:]) { conditions, name in
            guard let rule = merger.rules[name], let condition = expander.expand(rule.condition, in: rule.scope) else { return }
            conditions[name] = rule.exceptions.isEmpty ? condition : .and(condition, .not(exceptionExpression(rule.exceptions, expander, rule.scope)))
        }
        let shared = SharedSubconditions()
        for name in merger.ruleOrder where merger.rules[name]?.enabled == true { fullConditions[name].map(shared.count) }
        for name in merger.ruleOrder {
            guard let rule = merger.rules[name] else { continue }
            let builtinRule = rule.enabled ? makeBuiltin(rule, diagnostics) : nil
            var condition: CompiledCondition?
            if let fullCondition = fullConditions[name] {
                condition = ConditionCompiler.compile(fullCondition, diagnostics: diagnostics, shared: shared)
                if let observed = builtinRule?.observes { condition = condition?.observing(observed) }
            }
            let outputText = rule.output ?? ConditionOrigin(text: builtinRule?.defaultOutput ?? "", file: rule.cursor.source.name, path: rule.cursor.path)
            let findingFields = rule.builtinType.flatMap(RuleTypeRegistry.type(named:))?.findingFields ?? []
            let output = OutputTemplate.compile(outputText, findingFields: findingFields, diagnostics: diagnostics)
            guard let condition else { continue }
            if rule.builtinType == nil, condition.eventTypes.isSuperset(of: EventType.withProcess.subtracting(EventType.optIn)) {
                diagnostics.add(rule.cursor.diagnostic("rule \"\(name)\" does not restrict evt.type: it is evaluated on every event; add evt.type = ... or evt.type in (...)", severity: .warning))
            }
            summaries.append(RuleSet.Summary(name: name, priority: rule.priority, enabled: rule.enabled, tags: rule.tags,
                                             eventTypes: EventType.allCases.filter(condition.eventTypes.contains),
                                             builtinType: rule.builtinType, file: rule.cursor.source.name))
            guard rule.enabled, rule.priority.isAtLeast(minimumPriority) else { continue }
            if rule.builtinType != nil, builtinRule == nil { continue }
            // A SIEM routes by source: rules on captured traffic alone say so, as Falco's plugins do.
            let source = !condition.eventTypes.isEmpty && condition.eventTypes.isSubset(of: EventType.messages) ? "pcap" : "syscall"
            let identity = [name, fullConditions[name]?.canonicalText ?? "", outputText.text, rule.priority.ruleName, rule.tags.joined(separator: ","),
                            source, rule.builtinType ?? "", rule.params?.node.canonicalText ?? ""].joined(separator: "\u{1F}")
            compiled.append(CompiledRule(name: name, description: rule.description, priority: rule.priority, tags: rule.tags, source: source,
                                         condition: condition, output: output, builtin: builtinRule?.rule, identity: identity))
        }
        if diagnostics.hasErrors { throw DiagnosticsError(diagnostics.sorted(fileOrder: sources.map(\.name))) }
        return RuleSet(rules: compiled, summaries: summaries, warnings: diagnostics.warnings, files: sources.map(\.name))
    }

    private static func makeBuiltin(_ rule: MergedRule, _ diagnostics: Diagnostics) -> (rule: BuiltinRule, defaultOutput: String, observes: Set<EventType>?)? {
        guard let typeName = rule.builtinType, let type = RuleTypeRegistry.type(named: typeName) else { return nil }
        let params = rule.params ?? JSONCursor(node: JSONNode(.object([])), path: rule.cursor.path + ".params", source: rule.cursor.source)
        guard let object = params.object(diagnostics, allowedKeys: type.parameterNames),
              let builtin = type.make(params: object, diagnostics: diagnostics) else { return nil }
        return (builtin, type.defaultOutput, type.observedEventTypes)
    }

    /// `(f1 op v1 and f2 op v2) or (...)` over the exception tuples: true when an exception applies.
    private static func exceptionExpression(_ exceptions: [ExceptionDefinition], _ expander: MacroExpander, _ scope: NameScope) -> Expression {
        let tuples: [Expression] = exceptions.flatMap { exception in
            exception.values.map { tuple in
                let comparisons: [Expression] = tuple.enumerated().map { index, operand in
                    let (op, position) = exception.operators[index]
                    return .comparison(Comparison(field: exception.fields[index], op: op, operatorPosition: position,
                                                  operand: expander.expandLists(in: operand, scope)))
                }
                return comparisons.dropFirst().reduce(comparisons[0]) { .and($0, $1) }
            }
        }
        return tuples.dropFirst().reduce(tuples.first ?? .constant(false)) { .or($0, $1) }
    }

    private static func listRuleFiles(_ path: String) -> Result<[String], Diagnostic> {
        var status = stat()
        guard stat(path, &status) == 0 else {
            return .failure(Diagnostic(file: path, location: nil, path: "", message: "cannot open: \(String(cString: strerror(errno)))"))
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { return .success([path]) }
        guard let directory = opendir(path) else {
            return .failure(Diagnostic(file: path, location: nil, path: "", message: "cannot list the directory: \(String(cString: strerror(errno)))"))
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".json"), !name.hasPrefix(".") { names.append(name) }
        }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return .success(names.sorted().map { prefix + $0 })
    }
}
