import SentinelJSON

/// A rule's `output` text with its `%field` references resolved to accessors at load time.
public struct OutputTemplate {
    enum Segment {
        case text(String)
        case field(name: String, accessor: FieldAccessor, type: FieldType)
        /// A value a built-in rule reports with its finding (`%bosc.mismatches`).
        case finding(name: String)
    }

    let segments: [Segment]

    /// The fields it prints, by their names without an argument (`proc.env` for `proc.env[HOME]`).
    public var fieldNames: Set<String> {
        Set(segments.compactMap { segment in
            if case .field(let name, _, _) = segment { return String(name.prefix { $0 != "[" }) }
            return nil
        })
    }

    /// Events the engine must see to know the values of the fields it prints (`learnedFrom`).
    public var learnsFrom: Set<EventType> { FieldRegistry.learnedFrom(fieldNames) }

    /// Compiles `text`; `findingFields` are the extra names a built-in rule provides. Unknown field
    /// names are reported at their column.
    public static func compile(_ origin: ConditionOrigin, findingFields: [String] = [], diagnostics: Diagnostics) -> OutputTemplate {
        let bytes = Array(origin.text.utf8)
        var segments: [Segment] = []
        var literal: [UInt8] = []
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%"), index + 1 < bytes.count, isNameByte(bytes[index + 1]) else {
                literal.append(bytes[index])
                index += 1
                continue
            }
            let start = index
            index += 1
            let nameStart = index
            while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
            // A sentence may end right after a field: "...by %proc.name." keeps its full stop.
            while index > nameStart + 1, bytes[index - 1] == UInt8(ascii: ".") { index -= 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            let field = FieldRegistry.field(named: name)
            var argument: Int?, key: String?
            if index < bytes.count, bytes[index] == UInt8(ascii: "["),
               let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")), close > index + 1 {
                let text = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
                if let value = Int(text) {
                    argument = value
                    index = close + 1
                } else if let field, field.takesKey {
                    key = text
                    index = close + 1
                }
            }
            if !literal.isEmpty {
                segments.append(.text(String(decoding: literal, as: UTF8.self)))
                literal.removeAll()
            }
            let position = ConditionPosition(origin: origin, offset: start)
            if findingFields.contains(name) {
                segments.append(.finding(name: name))
            } else if let field, let key {
                segments.append(.field(name: "\(name)[\(key)]", accessor: field.accessor(key: key)!, type: field.type))
            } else if let field, case .key(let placeholder) = field.argument {
                diagnostics.add(position.diagnostic("field \"%\(name)\" needs a [\(placeholder)] in the output"))
            } else if let field, argument == nil || field.argument != .none {
                let display = argument.map { "\(name)[\($0)]" } ?? name
                segments.append(.field(name: display, accessor: field.accessor(index: argument), type: field.type))
            } else {
                diagnostics.add(position.diagnostic("unknown field \"%\(name)\" in the output" + FieldRegistry.hint(forUnknown: name, among: findingFields, prefix: "%")))
            }
        }
        if !literal.isEmpty { segments.append(.text(String(decoding: literal, as: UTF8.self))) }
        return OutputTemplate(segments: segments)
    }

    /// This template followed by a space and `extra` (`--append-output`).
    public func appending(_ extra: OutputTemplate) -> OutputTemplate {
        OutputTemplate(segments: segments + [.text(" ")] + extra.segments)
    }

    /// The text and the fields it names, for one event. Values are escaped in the text and raw in
    /// the fields (JSON writers escape them their own way).
    public func render(_ context: EventContext, finding: [String: FieldValue] = [:]) -> (text: String, fields: [Alert.Field]) {
        var text = ""
        var fields: [Alert.Field] = []
        for segment in segments {
            switch segment {
            case .text(let literal):
                text += literal
            case .field(let name, let accessor, let type):
                // Times read as ISO 8601 in the text and stay nanoseconds in the fields, as in Falco.
                let value = accessor.value(context)
                if type == .time, case .number(let nanoseconds) = value {
                    text += iso8601(nanoseconds: UInt64(bitPattern: nanoseconds))
                } else {
                    text += escapeControlCharacters(value.description)
                }
                if !fields.contains(where: { $0.name == name }) { fields.append(Alert.Field(name: name, value: value)) }
            case .finding(let name):
                let value = finding[name] ?? .missing
                text += escapeControlCharacters(value.description)
                if !fields.contains(where: { $0.name == name }) { fields.append(Alert.Field(name: name, value: value)) }
            }
        }
        // Every alert names its container in its fields, as Falco's container info does, so that a
        // SIEM can key on them whatever the rule's output says.
        for field in Self.containerFields where !fields.contains(where: { $0.name == field.name }) {
            fields.append(Alert.Field(name: field.name, value: field.accessor(index: nil).value(context)))
        }
        return (text, fields)
    }

    private static let containerFields = ["container.id", "container.name"].map { FieldRegistry.field(named: $0)! }
}
