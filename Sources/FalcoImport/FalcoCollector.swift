import Engine
import SentinelJSON

/// One list, macro or rule as Falco holds it after every file's entries are applied: conditions
/// are text, joined as Falco joins them, so that sentinel reads exactly what Falco would compile.
protocol HasHome {
    var home: Int { get }
}

struct ImportedList: HasHome {
    let name: String
    /// The input file the list is written back to: where it was first defined (Falco keeps that
    /// position when a later file defines the name again).
    let home: Int
    var cursor: YAMLCursor
    var items: [String]
}

struct ImportedMacro: HasHome {
    let name: String
    let home: Int
    var cursor: YAMLCursor
    var condition: String
}

struct ImportedRule {
    let name: String
    let home: Int
    var cursor: YAMLCursor
    var description: String
    var condition: String
    var output: String
    var priority: Priority
    var tags: [String]
    var enabled: Bool
    var exceptions: [ImportedException]
    /// Falco's event source: only `syscall` rules are sentinel's to judge.
    var source: String
    var skipIfUnknownFilter: Bool
}

struct ImportedException {
    enum Names {
        case one(String)
        case many([String])
    }

    /// A value of a tuple: a scalar, or a list (for `in` and the other list comparisons).
    indirect enum Value {
        case scalar(String)
        case sequence([Value])
    }

    let name: String
    var fields: Names?
    var comps: Names?
    var values: [Value]
}

enum ItemKey: Hashable, CustomStringConvertible {
    case list(String)
    case macro(String)
    case rule(String)

    var description: String {
        switch self {
        case .list(let name): return "list \(name)"
        case .macro(let name): return "macro \(name)"
        case .rule(let name): return "rule \"\(name)\""
        }
    }
}

/// Applies Falco rule files' entries in order, with Falco's loader semantics: a name defined again
/// replaces the earlier definition; `append: true` and `override` append or replace key by key; a
/// rule given only `enabled` switches an earlier one on or off; exceptions appended under an
/// existing name add values to it. Errors are Falco's load errors, located in the YAML.
struct FalcoCollector {
    let diagnostics: Diagnostics
    private(set) var lists: [String: ImportedList] = [:]
    private(set) var macros: [String: ImportedMacro] = [:]
    private(set) var rules: [String: ImportedRule] = [:]
    /// Each kind in the order of first definition.
    private(set) var order: [ItemKey] = []
    /// `required_engine_version` and `required_plugin_versions`, per file, kept as notes.
    private(set) var engineVersions: [Int: String] = [:]
    private(set) var pluginVersions: [Int: [(name: String, version: String)]] = [:]

    init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
    }

    static let listKeys: Set<String> = ["list", "items", "append", "override"]
    static let macroKeys: Set<String> = ["macro", "condition", "append", "override"]
    static let ruleKeys: Set<String> = ["rule", "condition", "output", "desc", "priority", "source", "enabled", "capture", "capture_duration",
                                        "warn_evttypes", "skip-if-unknown-filter", "tags", "exceptions", "override", "append"]
    static let appendableRuleKeys: Set<String> = ["condition", "output", "desc", "tags", "exceptions"]
    static let replaceableRuleKeys: Set<String> = ["condition", "output", "desc", "priority", "capture", "capture_duration", "tags", "exceptions",
                                                   "enabled", "warn_evttypes", "skip-if-unknown-filter"]

    mutating func add(document: YAMLCursor, fileIndex: Int) {
        if case .scalar(let scalar) = document.node, scalar.string.isEmpty { return }
        guard let elements = document.elements(diagnostics) else { return }
        // An item is named by what it defines (`rule "X"`); until then its line says where it is.
        for item in elements.map({ $0.child($0.node, path: "") }) {
            guard case .mapping = item.node else {
                diagnostics.add(item.diagnostic("expected a mapping (- rule: ..., - macro: ..., - list: ...), found \(item.kindName)"))
                continue
            }
            let keys = Set(item.keys)
            if keys.contains("rule") {
                addRule(item, fileIndex)
            } else if keys.contains("macro") {
                addMacro(item, fileIndex)
            } else if keys.contains("list") {
                addList(item, fileIndex)
            } else if let version = item["required_engine_version"] {
                if let text = version.text(diagnostics) { engineVersions[fileIndex] = text }
            } else if let plugins = item["required_plugin_versions"] {
                addPluginVersions(plugins, fileIndex)
            } else {
                // Falco warns of an unknown item and goes on; so does the import.
                diagnostics.add(item.diagnostic("unknown item (keys: \(item.keys.joined(separator: ", "))): not carried", severity: .warning))
            }
        }
    }

    // MARK: - Lists and macros

    private mutating func addList(_ item: YAMLCursor, _ fileIndex: Int) {
        guard let name = item["list"]?.text(diagnostics) else { return }
        let item = item.child(item.node, path: "list \(name)")
        warnOfUnknownKeys(item, known: Self.listKeys)
        guard let change = readChange(item, appendable: ["items"], replaceable: ["items"]),
              let items = item["items"].map({ $0.texts(diagnostics) }) ?? missing(item, "items") else { return }
        if let list = apply(change.append.contains("items"), to: lists[name], .list(name), item,
                            appending: { $0.items += items }, defining: { ImportedList(name: name, home: $0 ?? fileIndex, cursor: item, items: items) }) {
            lists[name] = list
        }
    }

    private mutating func addMacro(_ item: YAMLCursor, _ fileIndex: Int) {
        guard let name = item["macro"]?.text(diagnostics) else { return }
        let item = item.child(item.node, path: "macro \(name)")
        warnOfUnknownKeys(item, known: Self.macroKeys)
        guard let change = readChange(item, appendable: ["condition"], replaceable: ["condition"]),
              let condition = item["condition"].map({ $0.text(diagnostics) }) ?? missing(item, "condition") else { return }
        if let macro = apply(change.append.contains("condition"), to: macros[name], .macro(name), item,
                             appending: { $0.condition += " " + condition },
                             defining: { ImportedMacro(name: name, home: $0 ?? fileIndex, cursor: item, condition: condition) }) {
            macros[name] = macro
        }
    }

    /// A list or macro after an entry: the earlier one appended to, or the new definition, which
    /// keeps the earlier one's place (its home) as Falco keeps its index.
    private mutating func apply<Item: HasHome>(_ isAppend: Bool, to earlier: Item?, _ key: ItemKey, _ item: YAMLCursor,
                                               appending: (inout Item) -> Void, defining: (_ home: Int?) -> Item) -> Item? {
        guard isAppend else {
            if earlier == nil { order.append(key) }
            return defining(earlier?.home)
        }
        guard var earlier else {
            diagnostics.add(item.diagnostic("no earlier \(key) to append to"))
            return nil
        }
        appending(&earlier)
        return earlier
    }

    // MARK: - Rules

    private mutating func addRule(_ entry: YAMLCursor, _ fileIndex: Int) {
        guard let name = entry["rule"]?.text(diagnostics) else { return }
        let item = entry.child(entry.node, path: "rule \"\(name)\"")
        warnOfUnknownKeys(item, known: Self.ruleKeys)
        guard let change = readChange(item, appendable: Self.appendableRuleKeys, replaceable: Self.replaceableRuleKeys) else { return }
        if change.isDefinition {
            let keys = Set(item.keys)
            if keys.isDisjoint(with: ["condition", "output", "desc", "priority"]) {
                // Falco's older form: `- rule: X` with `enabled:` alone switches an earlier rule.
                guard let enabled = item["enabled"].map({ $0.bool(diagnostics) }) ?? missing(item, "enabled") else { return }
                guard var earlier = rules[name] else {
                    diagnostics.add(item.diagnostic("no earlier rule \"\(name)\" to enable or disable"))
                    return
                }
                earlier.enabled = enabled
                rules[name] = earlier
                return
            }
            define(item, name: name, fileIndex: fileIndex)
            return
        }
        guard var rule = rules[name] else {
            diagnostics.add(item.diagnostic("no earlier rule \"\(name)\" to \(change.append.isEmpty ? "replace keys of" : "append to")"))
            return
        }
        let before = diagnostics.errors.count
        for key in change.append.sorted() {
            guard let value = item[key] else { continue }
            switch key {
            case "condition": if let text = value.text(diagnostics) { rule.condition += " " + text }
            case "output": if let text = value.text(diagnostics) { rule.output += " " + trimmed(text) }
            case "desc": if let text = value.text(diagnostics) { rule.description += " " + trimmed(text) }
            case "tags": for tag in value.texts(diagnostics) ?? [] where !rule.tags.contains(tag) { rule.tags.append(tag) }
            case "exceptions": rule.exceptions = appendExceptions(value, to: rule.exceptions)
            default: break
            }
        }
        for key in change.replace.sorted() {
            guard let value = item[key] else { continue }
            switch key {
            case "condition": if let text = value.text(diagnostics) { rule.condition = text }
            case "output": if let text = value.text(diagnostics) { rule.output = trimmed(text) }
            case "desc": if let text = value.text(diagnostics) { rule.description = trimmed(text) }
            case "priority": if let priority = readPriority(value) { rule.priority = priority }
            case "tags": if let tags = value.texts(diagnostics) { rule.tags = tags }
            case "exceptions": if let exceptions = readExceptions(value, appending: false) { rule.exceptions = exceptions }
            case "enabled": if let enabled = value.bool(diagnostics) { rule.enabled = enabled }
            case "skip-if-unknown-filter": if let skip = value.bool(diagnostics) { rule.skipIfUnknownFilter = skip }
            default: noteDropped(value, key)
            }
        }
        if diagnostics.errors.count == before { rules[name] = rule }
    }

    private mutating func define(_ item: YAMLCursor, name: String, fileIndex: Int) {
        let before = diagnostics.errors.count
        let condition = item["condition"].map { $0.text(diagnostics) } ?? missing(item, "condition")
        let output = item["output"].map { $0.text(diagnostics) } ?? missing(item, "output")
        let description = item["desc"].map { $0.text(diagnostics, allowEmpty: true) } ?? missing(item, "desc")
        let priority = item["priority"].map(readPriority) ?? missing(item, "priority")
        let tags = optional(item["tags"], default: []) { $0.texts(diagnostics) }
        let enabled = optional(item["enabled"], default: true) { $0.bool(diagnostics) }
        let skip = optional(item["skip-if-unknown-filter"], default: false) { $0.bool(diagnostics) }
        let exceptions = optional(item["exceptions"], default: []) { readExceptions($0, appending: false) }
        let source = optional(item["source"], default: "syscall") { $0.text(diagnostics, allowEmpty: true) }
        for key in ["capture", "capture_duration"] { if let value = item[key] { noteDropped(value, key) } }
        guard diagnostics.errors.count == before, let condition, let output, let description, let priority, let tags, let enabled,
              let skip, let exceptions, let source else { return }
        let home = rules[name]?.home ?? fileIndex
        if rules[name] == nil { order.append(.rule(name)) }
        rules[name] = ImportedRule(name: name, home: home, cursor: item, description: trimmed(description), condition: condition,
                                   output: trimmed(output), priority: priority, tags: tags, enabled: enabled, exceptions: exceptions,
                                   source: source.isEmpty ? "syscall" : source, skipIfUnknownFilter: skip)
    }

    private func readPriority(_ value: YAMLCursor) -> Priority? {
        guard let text = value.text(diagnostics) else { return nil }
        guard let priority = Priority(name: text) else {
            diagnostics.add(value.diagnostic("unknown priority \"\(text)\" (expected one of: \(Priority.allCases.map(\.ruleName).joined(separator: ", ")))"))
            return nil
        }
        return priority
    }

    // MARK: - Exceptions

    private func readExceptions(_ cursor: YAMLCursor, appending: Bool) -> [ImportedException]? {
        guard let entries = cursor.elements(diagnostics) else { return nil }
        var exceptions: [ImportedException] = []
        for entry in entries {
            guard case .mapping = entry.node else {
                diagnostics.add(entry.diagnostic("an exception must be a mapping (name, fields, comps, values), found \(entry.kindName)"))
                continue
            }
            for key in entry.keys where !["name", "fields", "comps", "values"].contains(key) {
                diagnostics.add(entry[key]!.diagnostic("unknown key \"\(key)\" in an exception", severity: .warning))
            }
            guard let name = entry["name"].map({ $0.text(diagnostics) }) ?? missing(entry, "name") else { continue }
            let fields = entry["fields"].flatMap(readNames)
            if fields == nil, entry["fields"] == nil, !appending {
                diagnostics.add(entry.diagnostic("exception \(name) has no fields"))
                continue
            }
            var values: [ImportedException.Value] = []
            if let valuesCursor = entry["values"] {
                values = valuesCursor.elements(diagnostics)?.compactMap(readValue) ?? []
            }
            exceptions.append(ImportedException(name: name, fields: fields, comps: entry["comps"].flatMap(readNames), values: values))
        }
        return exceptions
    }

    /// Falco appends an exception's values to the earlier exception of that name, or adds the
    /// exception when the name is new.
    private func appendExceptions(_ cursor: YAMLCursor, to earlier: [ImportedException]) -> [ImportedException] {
        var result = earlier
        for exception in readExceptions(cursor, appending: true) ?? [] {
            if let index = result.firstIndex(where: { $0.name == exception.name }) {
                if exception.fields != nil || exception.comps != nil {
                    diagnostics.add(cursor.diagnostic("exception \(exception.name) exists: an append can add values to it, not fields or comps"))
                }
                result[index].values += exception.values
            } else if exception.fields == nil {
                diagnostics.add(cursor.diagnostic("exception \(exception.name) is new here and has no fields"))
            } else {
                result.append(exception)
            }
        }
        return result
    }

    private func readNames(_ cursor: YAMLCursor) -> ImportedException.Names? {
        if case .sequence = cursor.node { return cursor.texts(diagnostics).map { .many($0) } }
        return cursor.text(diagnostics).map { .one($0) }
    }

    private func readValue(_ cursor: YAMLCursor) -> ImportedException.Value? {
        if case .sequence = cursor.node {
            return cursor.elements(diagnostics).map { .sequence($0.compactMap(readValue)) }
        }
        return cursor.text(diagnostics, allowEmpty: true).map { .scalar($0) }
    }

    // MARK: - Shared pieces

    private struct Change {
        var append: Set<String> = []
        var replace: Set<String> = []
        var isDefinition: Bool { append.isEmpty && replace.isEmpty }
    }

    /// `append: true` (Falco's older form: every appendable key given is appended) or `override`,
    /// key by key; neither is a definition.
    private func readChange(_ item: YAMLCursor, appendable: Set<String>, replaceable: Set<String>) -> Change? {
        let given = Set(item.keys)
        let isAppend = item["append"].map { $0.bool(diagnostics) } ?? false
        guard let isAppend else { return nil }
        guard let override = item["override"] else {
            return isAppend ? Change(append: given.intersection(appendable), replace: []) : Change()
        }
        if isAppend {
            diagnostics.add(override.diagnostic("use either override or append, not both"))
            return nil
        }
        guard case .mapping = override.node else {
            diagnostics.add(override.diagnostic("expected a mapping such as {condition: append}, found \(override.kindName)"))
            return nil
        }
        var change = Change()
        var valid = true
        for key in override.keys {
            let operation = override[key]!
            switch operation.node.string {
            case "append" where appendable.contains(key): change.append.insert(key)
            case "replace" where replaceable.contains(key): change.replace.insert(key)
            default:
                let modes = [appendable.contains(key) ? "append" : nil, replaceable.contains(key) ? "replace" : nil].compactMap { $0 }
                diagnostics.add(operation.diagnostic(modes.isEmpty ? "\"\(key)\" cannot be overridden"
                                                                   : "\"\(key)\" can be overridden with: \(modes.joined(separator: ", "))"))
                valid = false
                continue
            }
            if !given.contains(key) {
                diagnostics.add(operation.diagnostic("override of \"\(key)\", but the entry gives no \"\(key)\""))
                valid = false
            }
        }
        for key in given.intersection(appendable.union(replaceable)).sorted() where !change.append.contains(key) && !change.replace.contains(key) {
            diagnostics.add(item[key]!.diagnostic("\"\(key)\" is given but the override does not say to append or replace it"))
            valid = false
        }
        return valid ? change : nil
    }

    /// The value read from a key, the default without it, nil when it is there but unreadable.
    private func optional<Value>(_ cursor: YAMLCursor?, default value: Value, _ read: (YAMLCursor) -> Value?) -> Value? {
        guard let cursor else { return value }
        return read(cursor)
    }

    private func missing<Value>(_ item: YAMLCursor, _ key: String) -> Value? {
        diagnostics.add(item.diagnostic("missing required key \"\(key)\""))
        return nil
    }

    private func warnOfUnknownKeys(_ item: YAMLCursor, known: Set<String>) {
        for key in item.keys where !known.contains(key) {
            diagnostics.add(item[key]!.diagnostic("unknown key \"\(key)\": not carried", severity: .warning))
        }
    }

    private func noteDropped(_ value: YAMLCursor, _ key: String) {
        guard key != "warn_evttypes" else { return }
        diagnostics.add(value.diagnostic("sentinel writes no capture file per alert; the rule is carried without it", severity: .warning))
    }

    private mutating func addPluginVersions(_ cursor: YAMLCursor, _ fileIndex: Int) {
        for entry in cursor.elements(diagnostics) ?? [] {
            guard let name = entry["name"].map({ $0.text(diagnostics) }) ?? missing(entry, "name"),
                  let version = entry["version"].map({ $0.text(diagnostics) }) ?? missing(entry, "version") else { continue }
            pluginVersions[fileIndex, default: []].append((name, version))
        }
    }
}

/// Falco trims a rule's output; a description, often a folded block, is trimmed too.
func trimmed(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
    return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
}
