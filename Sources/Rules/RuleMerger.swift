import Engine
import SentinelJSON

/// A rule after every file's changes to it are applied.
struct MergedRule {
    var description: String
    var condition: Expression
    var output: ConditionOrigin?
    var priority: Priority
    var tags: [String]
    var enabled: Bool
    var exceptions: [ExceptionDefinition]
    var builtinType: String?
    var params: JSONCursor?
    /// Where the rule was first defined.
    let cursor: JSONCursor
    /// The names its condition means.
    let scope: NameScope
}

/// Merges the files' entries in order. A name is defined once; later entries must say how they
/// change it (`override` or `append`), so that a second definition by mistake is an error, not a
/// silent replacement.
struct RuleMerger {
    let diagnostics: Diagnostics
    private(set) var lists: [ScopedName: ListDefinition] = [:]
    private(set) var macros: [ScopedName: MacroDefinition] = [:]
    /// Named in a file but dropped for an error already reported there.
    private(set) var brokenMacros: Set<ScopedName> = []
    private(set) var rules: [String: MergedRule] = [:]
    private(set) var ruleOrder: [String] = []

    init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
    }

    mutating func merge(_ contents: RuleFileContents) {
        let scope = contents.scope
        brokenMacros.formUnion(contents.brokenMacros.map { ScopedName(scope: scope, name: $0) })
        for entry in contents.lists { mergeList(entry, scope) }
        for entry in contents.macros { mergeMacro(entry, scope) }
        for entry in contents.rules { mergeRule(entry, scope) }
    }

    private mutating func mergeList(_ entry: ListEntry, _ scope: NameScope) {
        let new = entry.definition
        switch entry.change {
        case .define:
            let key = ScopedName(scope: scope, name: new.name)
            if let earlier = lists[key] {
                diagnostics.add(duplicate("list", new.name, new.cursor, earlier: earlier.cursor))
            } else {
                lists[key] = new
            }
        case .modify(let append, _):
            guard let (key, found) = lists.lookUp(new.name, from: scope) else {
                diagnostics.add(new.cursor.diagnostic("no earlier list \"\(new.name)\" to change"))
                return
            }
            var earlier = found
            earlier.items = append.contains("items") ? earlier.items + new.items : new.items
            lists[key] = earlier
        }
    }

    private mutating func mergeMacro(_ entry: MacroEntry, _ scope: NameScope) {
        let new = entry.definition
        switch entry.change {
        case .define:
            let key = ScopedName(scope: scope, name: new.name)
            if let earlier = macros[key] {
                diagnostics.add(duplicate("macro", new.name, new.cursor, earlier: earlier.cursor))
            } else {
                macros[key] = new
            }
        case .modify(let append, _):
            guard let (key, found) = macros.lookUp(new.name, from: scope) else {
                diagnostics.add(new.cursor.diagnostic("no earlier macro \"\(new.name)\" to change"))
                return
            }
            var earlier = found
            earlier.condition = append.contains("condition") ? attach(new.condition, to: earlier.condition) : new.condition
            macros[key] = earlier
        }
    }

    private mutating func mergeRule(_ entry: RuleEntry, _ scope: NameScope) {
        let fields = entry.fields
        switch entry.change {
        case .define:
            if let earlier = rules[entry.name] {
                diagnostics.add(duplicate("rule", entry.name, entry.cursor, earlier: earlier.cursor))
                return
            }
            var missing: [String] = []
            if fields.condition == nil { missing.append("condition") }
            if fields.priority == nil { missing.append("priority") }
            if fields.output == nil, fields.builtinType == nil { missing.append("output") }
            guard missing.isEmpty, let condition = fields.condition, let priority = fields.priority else {
                let keys = missing.map { "\"\($0)\"" }.joined(separator: ", ")
                diagnostics.add(entry.cursor.diagnostic("rule \"\(entry.name)\" is missing \(keys)"))
                return
            }
            rules[entry.name] = MergedRule(description: fields.description ?? "", condition: condition, output: fields.output,
                                           priority: priority, tags: fields.tags ?? [], enabled: fields.enabled ?? true,
                                           exceptions: fields.exceptions ?? [], builtinType: fields.builtinType,
                                           params: fields.params, cursor: entry.cursor, scope: scope)
            ruleOrder.append(entry.name)
        case .modify(let append, let replace):
            guard var rule = rules[entry.name] else {
                diagnostics.add(entry.cursor.diagnostic("no earlier rule \"\(entry.name)\" to change"))
                return
            }
            if let condition = fields.condition {
                rule.condition = append.contains("condition") ? attach(condition, to: rule.condition) : condition
            }
            if let exceptions = fields.exceptions {
                rule.exceptions = append.contains("exceptions") ? rule.exceptions + exceptions : exceptions
            }
            if let tags = fields.tags {
                rule.tags = append.contains("tags") ? rule.tags + tags.filter { !rule.tags.contains($0) } : tags
            }
            if replace.contains("desc"), let description = fields.description { rule.description = description }
            if replace.contains("output"), let output = fields.output { rule.output = output }
            if replace.contains("priority"), let priority = fields.priority { rule.priority = priority }
            if replace.contains("enabled"), let enabled = fields.enabled { rule.enabled = enabled }
            if replace.contains("params"), let params = fields.params { rule.params = params }
            if replace.contains("type") {
                diagnostics.add(entry.cursor.diagnostic("a rule's type cannot be changed; define a new rule"))
            }
            rules[entry.name] = rule
        }
    }

    /// Joins an appended condition (parsed as `true and X` or `false or X`) to the earlier one.
    private func attach(_ continuation: Expression, to earlier: Expression) -> Expression {
        switch continuation {
        case .and(.constant(true), let added): return .and(earlier, added)
        case .or(.constant(false), let added): return .or(earlier, added)
        default: return continuation
        }
    }

    private func duplicate(_ kind: String, _ name: String, _ cursor: JSONCursor, earlier: JSONCursor) -> Diagnostic {
        cursor.diagnostic("duplicate \(kind) \"\(name)\": already defined at \(earlier.source.name):\(earlier.location) (to change it, add \"override\" or \"append\")")
    }
}

/// Replaces macro references with their conditions and list names with their items, reporting
/// unknown names and cycles at the reference.
struct MacroExpander {
    let lists: [ScopedName: ListDefinition]
    let macros: [ScopedName: MacroDefinition]
    let brokenMacros: Set<ScopedName>
    let diagnostics: Diagnostics
    /// Each cycle once, by its macros, from whichever of them it was first met.
    private let reportedCycles = ReportedCycles()

    private final class ReportedCycles {
        var macros: Set<[String]> = []
    }

    init(lists: [ScopedName: ListDefinition], macros: [ScopedName: MacroDefinition], brokenMacros: Set<ScopedName>, diagnostics: Diagnostics) {
        (self.lists, self.macros, self.brokenMacros, self.diagnostics) = (lists, macros, brokenMacros, diagnostics)
    }

    /// `expression` as something in `scope` means it.
    func expand(_ expression: Expression, in scope: NameScope) -> Expression? {
        var failed = false
        let result = expand(expression, scope, stack: [], failed: &failed)
        return failed ? nil : result
    }

    private func expand(_ expression: Expression, _ scope: NameScope, stack: [String], failed: inout Bool) -> Expression {
        switch expression {
        case .and(let left, let right):
            return .and(expand(left, scope, stack: stack, failed: &failed), expand(right, scope, stack: stack, failed: &failed))
        case .or(let left, let right):
            return .or(expand(left, scope, stack: stack, failed: &failed), expand(right, scope, stack: stack, failed: &failed))
        case .not(let inner):
            return .not(expand(inner, scope, stack: stack, failed: &failed))
        case .constant:
            return expression
        case .comparison(var comparison):
            comparison.operand = expandLists(in: comparison.operand, scope)
            return .comparison(comparison)
        case .reference(let name, let position):
            guard let (key, macro) = macros.lookUp(name, from: scope) else {
                failed = true
                // A broken macro's error was reported where it is.
                if brokenMacros.contains(ScopedName(scope: scope, name: name)) || brokenMacros.contains(ScopedName(scope: scope.other, name: name)) {
                    return .constant(false)
                }
                if FieldRegistry.field(named: name) != nil {
                    diagnostics.add(position.diagnostic("field \"\(name)\" needs an operator and a value (such as \(name) = ...)"))
                } else {
                    var message = "unknown macro \"\(name)\""
                    if let suggestion = closestMatch(to: name, among: macros.keys.map(\.name) + FieldRegistry.names) {
                        message += " (did you mean \"\(suggestion)\"?)"
                    }
                    diagnostics.add(position.diagnostic(message))
                }
                return .constant(false)
            }
            if stack.contains(name) {
                failed = true
                let members = Array(stack.drop(while: { $0 != name }))
                if reportedCycles.macros.insert(members.sorted()).inserted {
                    diagnostics.add(position.diagnostic("macro cycle: \((members + [name]).joined(separator: " -> "))"))
                }
                return .constant(false)
            }
            return expand(macro.condition, key.scope, stack: stack + [name], failed: &failed)
        }
    }

    /// Replaces list names among unquoted `in (...)` items by the lists' items, recursively.
    func expandLists(in operand: Operand, _ scope: NameScope) -> Operand {
        guard case .list(let items) = operand else { return operand }
        var expanded: [Literal] = []
        for item in items { expanded += expandItem(item, scope, stack: []) }
        return .list(expanded)
    }

    private func expandItem(_ item: Literal, _ scope: NameScope, stack: [String]) -> [Literal] {
        guard !item.quoted, let (key, list) = lists.lookUp(item.text, from: scope) else { return [item] }
        if stack.contains(item.text) {
            let cycle = (stack.drop(while: { $0 != item.text }) + [item.text]).joined(separator: " -> ")
            diagnostics.add(list.cursor.diagnostic("list cycle: \(cycle)"))
            return []
        }
        return list.items.flatMap { expandItem($0, key.scope, stack: stack + [item.text]) }
    }
}
