import Engine
import SentinelJSON

/// Reads one rule file into its entries, parsing every condition, and records every problem.
enum RuleFileReader {
    /// `imported` is what `sentinel rules import` notes about the file's origin; it is not read.
    static let topLevelKeys = ["$schema", "imported", "lists", "macros", "rules"]
    static let listKeys = ["list", "items", "override", "append"]
    static let macroKeys = ["macro", "condition", "override", "append"]
    static let ruleKeys = ["rule", "desc", "condition", "output", "priority", "tags", "enabled", "exceptions", "type", "params", "override", "append"]
    static let exceptionKeys = ["name", "fields", "comps", "values"]

    /// The keys an override may append to; every key of a rule but its name may be replaced.
    static let appendableListKeys: Set<String> = ["items"]
    static let appendableMacroKeys: Set<String> = ["condition"]
    static let appendableRuleKeys: Set<String> = ["condition", "exceptions", "tags"]

    static func read(_ source: JSONSource, diagnostics: Diagnostics) -> RuleFileContents {
        var contents = RuleFileContents()
        guard let root = diagnostics.take(source.parse()),
              let file = root.object(diagnostics, allowedKeys: topLevelKeys) else { return contents }
        if file.optional("imported") != nil { contents.scope = .imported }
        for entry in file.optional("lists")?.array(diagnostics) ?? [] {
            if let list = readList(entry, diagnostics) { contents.lists.append(list) }
        }
        for entry in file.optional("macros")?.array(diagnostics) ?? [] {
            if let macro = readMacro(entry, diagnostics) {
                contents.macros.append(macro)
            } else if case .string(let name)? = entry.node["macro"]?.value {
                contents.brokenMacros.insert(name)
            }
        }
        for entry in file.optional("rules")?.array(diagnostics) ?? [] {
            if let rule = readRule(entry, diagnostics) { contents.rules.append(rule) }
        }
        return contents
    }

    // MARK: - Lists and macros

    private static func readList(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> ListEntry? {
        guard let object = cursor.object(diagnostics, allowedKeys: listKeys),
              let name = readName(object, key: "list", diagnostics),
              let itemsCursor = object.required("items", diagnostics),
              let elements = itemsCursor.array(diagnostics) else { return nil }
        var items: [Literal] = []
        for element in elements {
            let origin = ConditionOrigin(text: "", file: element.source.name, path: element.path, location: element.location)
            let position = ConditionPosition(origin: origin, offset: 0)
            switch element.node.value {
            case .string(let text):
                // An item is condition text, as in Falco: one written in quotes ('"10.0.0.0/8"',
                // a value with spaces or commas) stands for what is inside them.
                if text.count >= 2, let quote = text.first, quote == "\"" || quote == "'", text.last == quote {
                    items.append(Literal(text: String(text.dropFirst().dropLast()), quoted: true, position: position))
                } else {
                    items.append(Literal(text: text, quoted: false, position: position))
                }
            case .integer(let number):
                items.append(Literal(text: String(number), quoted: true, position: position))
            default:
                diagnostics.add(element.diagnostic("expected a string or a number, found \(element.node.kindName)"))
            }
        }
        guard let change = readChange(object, appendable: appendableListKeys, diagnostics) else { return nil }
        return ListEntry(definition: ListDefinition(name: name, items: items, cursor: cursor), change: change)
    }

    private static func readMacro(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> MacroEntry? {
        guard let object = cursor.object(diagnostics, allowedKeys: macroKeys),
              let name = readName(object, key: "macro", diagnostics) else { return nil }
        if !isIdentifier(name) {
            diagnostics.add(object.optional("macro")!.diagnostic("a macro name must be letters, digits and underscores, starting with a letter or underscore: \"\(name)\""))
            return nil
        }
        if FieldRegistry.field(named: name) != nil {
            diagnostics.add(object.optional("macro")!.diagnostic("macro \"\(name)\" has the name of a field"))
            return nil
        }
        guard let change = readChange(object, appendable: appendableMacroKeys, diagnostics) else { return nil }
        guard let conditionCursor = object.required("condition", diagnostics),
              let condition = readCondition(conditionCursor, continuing: isAppend(change, "condition"), diagnostics) else { return nil }
        return MacroEntry(definition: MacroDefinition(name: name, condition: condition, cursor: cursor), change: change)
    }

    // MARK: - Rules

    private static func readRule(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> RuleEntry? {
        guard let object = cursor.object(diagnostics, allowedKeys: ruleKeys),
              let name = readName(object, key: "rule", diagnostics) else { return nil }
        let before = diagnostics.errors.count
        var change = readChange(object, appendable: appendableRuleKeys, diagnostics)
        // `{"rule": "X", "enabled": false}` switches an earlier rule off, as in Falco.
        if case .define = change, Set(object.keys) == ["rule", "enabled"] {
            change = .modify(append: [], replace: ["enabled"])
        }
        var fields = RuleFields()
        if let value = object.optional("desc") { fields.description = value.string(diagnostics) }
        if let value = object.optional("condition") {
            fields.condition = readCondition(value, continuing: isAppend(change, "condition"), diagnostics)
        }
        if let value = object.optional("output"), let text = value.string(diagnostics) {
            if text.trimmingCharacters(in: " ").isEmpty {
                diagnostics.add(value.diagnostic("the output is empty"))
            } else {
                fields.output = ConditionOrigin(text: text, file: value.source.name, path: value.path, location: value.location)
            }
        }
        if let value = object.optional("priority"), let text = value.string(diagnostics) {
            if let priority = Priority(name: text) {
                fields.priority = priority
            } else {
                diagnostics.add(value.diagnostic("unknown priority \"\(text)\" (expected one of: \(Priority.allCases.map(\.ruleName).joined(separator: ", ")))"))
            }
        }
        if let value = object.optional("tags") { fields.tags = value.stringArray(diagnostics) }
        if let value = object.optional("enabled") { fields.enabled = value.bool(diagnostics) }
        if let value = object.optional("exceptions") { fields.exceptions = readExceptions(value, diagnostics) }
        if let value = object.optional("type"), let type = value.string(diagnostics) {
            if RuleTypeRegistry.type(named: type) == nil {
                var message = "unknown rule type \"\(type)\""
                if let suggestion = closestMatch(to: type, among: RuleTypeRegistry.names) { message += " (did you mean \"\(suggestion)\"?)" }
                diagnostics.add(value.diagnostic(message + "; built-in types: \(RuleTypeRegistry.names.joined(separator: ", "))"))
            }
            fields.builtinType = type
        }
        fields.params = object.optional("params")
        if fields.params != nil, fields.builtinType == nil, case .define = change ?? .define {
            diagnostics.add(object.optional("params")!.diagnostic("params belong to a built-in rule type; this rule has no \"type\""))
        }
        guard let change, diagnostics.errors.count == before else { return nil }
        return RuleEntry(name: name, cursor: cursor, change: change, fields: fields)
    }

    private static func readExceptions(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> [ExceptionDefinition]? {
        guard let entries = cursor.array(diagnostics) else { return nil }
        var exceptions: [ExceptionDefinition] = []
        for entry in entries {
            guard let object = entry.object(diagnostics, allowedKeys: exceptionKeys),
                  let name = object.required("name", diagnostics)?.string(diagnostics),
                  let fieldsCursor = object.required("fields", diagnostics) else { continue }
            // Falco's two forms: "fields": "proc.name" with scalar values, or an array of fields
            // with tuples of values.
            let singleField: Bool
            let fieldCursors: [JSONCursor]
            if case .string = fieldsCursor.node.value {
                singleField = true
                fieldCursors = [fieldsCursor]
            } else {
                singleField = false
                guard let array = fieldsCursor.array(diagnostics) else { continue }
                fieldCursors = array
            }
            if fieldCursors.isEmpty {
                diagnostics.add(fieldsCursor.diagnostic("an exception needs at least one field"))
                continue
            }
            var fields: [FieldReference] = []
            for fieldCursor in fieldCursors {
                guard let text = fieldCursor.string(diagnostics) else { continue }
                let origin = ConditionOrigin(text: text, file: fieldCursor.source.name, path: fieldCursor.path, location: fieldCursor.location)
                fields.append(parseFieldReference(text, origin: origin))
            }
            var operators: [(ComparisonOperator, ConditionPosition)] = []
            if let compsCursor = object.optional("comps") {
                let compCursors = singleField ? [compsCursor] : (compsCursor.array(diagnostics) ?? [])
                for compCursor in compCursors {
                    guard let text = compCursor.string(diagnostics) else { continue }
                    let position = ConditionPosition(origin: ConditionOrigin(text: text, file: compCursor.source.name, path: compCursor.path, location: compCursor.location), offset: 0)
                    let symbol = text == "==" ? "=" : text
                    guard let op = ComparisonOperator(rawValue: symbol), op != .exists else {
                        diagnostics.add(compCursor.diagnostic("unknown comparison \"\(text)\" (expected one of: = != < <= > >= in contains icontains startswith endswith glob)"))
                        continue
                    }
                    operators.append((op, position))
                }
                if operators.count != fields.count {
                    diagnostics.add(compsCursor.diagnostic("\(operators.count) comps for \(fields.count) fields: give one per field"))
                    continue
                }
            } else {
                let position = ConditionPosition(origin: ConditionOrigin(text: "", file: entry.source.name, path: entry.path, location: entry.location), offset: 0)
                operators = fields.map { _ in (singleField ? .in : .equal, position) }
            }
            var tuples: [[Operand]] = []
            for valueCursor in object.optional("values")?.array(diagnostics) ?? [] {
                if singleField {
                    if operators[0].0 == .in {
                        // Falco's single-field form: all the values together make one `in` list.
                        if let literal = literal(valueCursor, diagnostics, mayNameList: true) {
                            if tuples.isEmpty { tuples.append([.list([])]) }
                            if case .list(let items) = tuples[0][0] { tuples[0][0] = .list(items + [literal]) }
                        }
                    } else if let operand = operand(valueCursor, for: operators[0].0, diagnostics) {
                        tuples.append([operand])
                    }
                    continue
                }
                guard let parts = valueCursor.array(diagnostics) else { continue }
                if parts.count != fields.count {
                    diagnostics.add(valueCursor.diagnostic("\(parts.count) values for \(fields.count) fields: give one per field"))
                    continue
                }
                let operands = zip(parts, operators).compactMap { operand($0, for: $1.0, diagnostics) }
                if operands.count == fields.count { tuples.append(operands) }
            }
            exceptions.append(ExceptionDefinition(name: name, fields: fields, operators: operators, values: tuples))
        }
        return exceptions
    }

    private static func operand(_ cursor: JSONCursor, for op: ComparisonOperator, _ diagnostics: Diagnostics) -> Operand? {
        if op.takesList {
            guard case .array = cursor.node.value else { return literal(cursor, diagnostics, mayNameList: true).map { .list([$0]) } }
            let items = cursor.array(diagnostics)?.compactMap { literal($0, diagnostics, mayNameList: true) } ?? []
            return .list(items)
        }
        return literal(cursor, diagnostics).map { .value($0) }
    }

    /// A value as a condition would hold it. An item of an `in` comparison may name a list, which
    /// stands for its items, as a bare item does in a condition (Falco's exceptions read them so).
    private static func literal(_ cursor: JSONCursor, _ diagnostics: Diagnostics, mayNameList: Bool = false) -> Literal? {
        let text: String
        switch cursor.node.value {
        case .string(let value): text = value
        case .integer(let value): text = String(value)
        case .bool(let value): text = value ? "true" : "false"
        default:
            diagnostics.add(cursor.diagnostic("expected a string or a number, found \(cursor.node.kindName)"))
            return nil
        }
        let origin = ConditionOrigin(text: text, file: cursor.source.name, path: cursor.path, location: cursor.location)
        return Literal(text: text, quoted: !mayNameList, position: ConditionPosition(origin: origin, offset: 0))
    }

    // MARK: - Shared pieces

    private static func readName(_ object: JSONObjectCursor, key: String, _ diagnostics: Diagnostics) -> String? {
        guard let cursor = object.required(key, diagnostics), let name = cursor.string(diagnostics) else { return nil }
        if name.trimmingCharacters(in: " ").isEmpty {
            diagnostics.add(cursor.diagnostic("the \(key) name is empty"))
            return nil
        }
        return name
    }

    /// Reads `override` (Falco's newer form, key by key) or `append: true` (the older form).
    private static func readChange(_ object: JSONObjectCursor, appendable: Set<String>, _ diagnostics: Diagnostics) -> Change? {
        let payloadKeys = Set(object.keys).subtracting(["override", "append", "list", "macro", "rule"])
        if let overrideCursor = object.optional("override") {
            if object.optional("append") != nil {
                diagnostics.add(overrideCursor.diagnostic("use either override or append, not both"))
                return nil
            }
            guard case .object(let members) = overrideCursor.node.value else {
                diagnostics.add(overrideCursor.diagnostic("expected an object such as {\"condition\": \"append\"}, found \(overrideCursor.node.kindName)"))
                return nil
            }
            var append: Set<String> = [], replace: Set<String> = []
            var valid = true
            for member in members {
                let memberCursor = JSONCursor(node: member.value, path: overrideCursor.path + "." + member.key, source: overrideCursor.source)
                guard case .string(let mode) = member.value.value, mode == "append" || mode == "replace" else {
                    diagnostics.add(memberCursor.diagnostic("expected \"append\" or \"replace\""))
                    valid = false
                    continue
                }
                if !payloadKeys.contains(member.key) {
                    diagnostics.add(memberCursor.diagnostic("override of \"\(member.key)\", but the entry gives no \"\(member.key)\""))
                    valid = false
                } else if mode == "append" && !appendable.contains(member.key) {
                    diagnostics.add(memberCursor.diagnostic("\"\(member.key)\" can only be replaced (append works for: \(appendable.sorted().joined(separator: ", ")))"))
                    valid = false
                }
                if mode == "append" { append.insert(member.key) } else { replace.insert(member.key) }
            }
            for key in payloadKeys where append.contains(key) == false && replace.contains(key) == false {
                diagnostics.add(object.optional(key)!.diagnostic("\"\(key)\" is given but the override does not say to append or replace it"))
                valid = false
            }
            return valid ? .modify(append: append, replace: replace) : nil
        }
        if let appendCursor = object.optional("append") {
            guard let isAppend = appendCursor.bool(diagnostics) else { return nil }
            guard isAppend else { return .define }
            let notAppendable = payloadKeys.subtracting(appendable)
            if !notAppendable.isEmpty {
                diagnostics.add(appendCursor.diagnostic("append works for \(appendable.sorted().joined(separator: ", ")); this entry also gives \(notAppendable.sorted().joined(separator: ", "))"))
                return nil
            }
            return .modify(append: payloadKeys, replace: [])
        }
        return .define
    }

    private static func isAppend(_ change: Change?, _ key: String) -> Bool {
        if case .modify(let append, _) = change { return append.contains(key) }
        return false
    }

    /// Parses a condition; an appended one starts with `and` or `or` and continues the earlier text.
    private static func readCondition(_ cursor: JSONCursor, continuing: Bool, _ diagnostics: Diagnostics) -> Expression? {
        guard let text = cursor.string(diagnostics) else { return nil }
        let origin = ConditionOrigin(text: text, file: cursor.source.name, path: cursor.path, location: cursor.location)
        do {
            if continuing {
                return try ConditionParser.parseContinuation(origin)
            }
            return try ConditionParser.parse(origin)
        } catch {
            diagnostics.add(error.diagnostic)
            return nil
        }
    }

    private static func parseFieldReference(_ text: String, origin: ConditionOrigin) -> FieldReference {
        let position = ConditionPosition(origin: origin, offset: 0)
        if text.hasSuffix("]"), let open = text.firstIndex(of: "["), let index = Int(text[text.index(after: open)..<text.index(before: text.endIndex)]) {
            return FieldReference(name: String(text[..<open]), index: index, position: position)
        }
        return FieldReference(name: text, index: nil, position: position)
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }
}

extension String {
    func trimmingCharacters(in characters: Character) -> String {
        String(drop(while: { $0 == characters || $0 == "\t" || $0 == "\n" }).reversed().drop(while: { $0 == characters || $0 == "\t" || $0 == "\n" }).reversed())
    }
}
