import SentinelJSON

/// Where a condition's text came from (a rule's or a macro's `condition`), so that an error found
/// after macros were expanded still points into the text the user wrote.
public final class ConditionOrigin: Sendable {
    public let text: String
    public let file: String
    public let path: String
    /// The location of the JSON string that holds the text.
    public let location: SourceLocation?

    public init(text: String, file: String = "<condition>", path: String = "", location: SourceLocation? = nil) {
        self.text = text
        self.file = file
        self.path = path
        self.location = location
    }
}

/// A position inside a condition's text: a byte offset into `origin.text`.
public struct ConditionPosition: Sendable {
    public let origin: ConditionOrigin
    public let offset: Int

    public init(origin: ConditionOrigin, offset: Int) {
        self.origin = origin
        self.offset = offset
    }

    /// The column, counted in characters from 1.
    public var column: Int {
        let bytes = Array(origin.text.utf8)
        return String(decoding: bytes[0..<min(offset, bytes.count)], as: UTF8.self).count + 1
    }

    public func diagnostic(_ message: String, severity: Diagnostic.Severity = .error) -> Diagnostic {
        let caret = String(repeating: " ", count: column - 1) + "^"
        let text = origin.text.contains("\n") ? origin.text.replacingNewlines : origin.text
        return Diagnostic(severity: severity, file: origin.file, location: origin.location, path: origin.path,
                          message: "column \(column): \(message)", excerpt: [text, caret])
    }
}

/// An error in a condition, at a position.
public struct ConditionError: Error, Sendable {
    public let position: ConditionPosition
    public let message: String
    /// Errors of the same kind found beside this one (every unknown name of a list, not the first).
    public var others: [ConditionError] = []

    public init(_ message: String, at position: ConditionPosition) {
        self.message = message
        self.position = position
    }

    public var diagnostic: Diagnostic { position.diagnostic(message) }

    public var diagnostics: [Diagnostic] { [diagnostic] + others.map(\.diagnostic) }
}

/// A parsed condition. Macro names stay `reference`s and list names stay words inside `in (...)`
/// until the rule loader expands them; the compiler accepts only expanded expressions.
public indirect enum Expression: Sendable {
    case and(Expression, Expression)
    case or(Expression, Expression)
    case not(Expression)
    case comparison(Comparison)
    /// A macro's name.
    case reference(String, ConditionPosition)
    /// `true`/`false` constants, produced by expansion (an empty exception list, say).
    case constant(Bool)
}

/// A function applied to a field's value before it is compared, as Falco's transformers:
/// `tolower(proc.name) = bash`. Text in, text out, but `len`.
public enum Transformer: String, CaseIterable, Sendable {
    /// ASCII letters only, as Falco folds them.
    case tolower, toupper
    /// What follows the last `/`.
    case basename
    /// Base64 decoded; not base64: no value.
    case b64
    /// The length in bytes, a number.
    case len
}

public struct FieldReference: Sendable {
    public let name: String
    /// The `[N]` argument, if one was written.
    public let index: Int?
    /// The `[KEY]` argument, if one was written (`proc.env[HOME]`, `container.label[app]`).
    public let key: String?
    /// Applied in order, innermost first: `toupper(basename(fd.name))` is [basename, toupper].
    public private(set) var transformers: [Transformer] = []
    public let position: ConditionPosition

    public init(name: String, index: Int?, key: String? = nil, position: ConditionPosition) {
        self.name = name
        self.index = index
        self.key = key
        self.position = position
    }

    /// This reference inside `transformer(...)`, written at `position`.
    func transformed(by transformer: Transformer) -> FieldReference {
        var outer = self
        outer.transformers.append(transformer)
        return outer
    }

    public var text: String {
        var text = name
        if let index { text += "[\(index)]" }
        if let key { text += "[\(key)]" }
        for transformer in transformers { text = "\(transformer.rawValue)(\(text))" }
        return text
    }
}

public enum ComparisonOperator: String, CaseIterable, Sendable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case `in`
    /// A field of several values (`proc.aname`) shares one with the list; for one value, `in`.
    case intersects
    /// A path that is one of the list's, or lies below one (`/etc` holds `/etc/x`, not `/etcx`).
    case pmatch
    case contains
    case icontains
    /// Bytes written in hex (`bcontains 7f454c46`).
    case bcontains
    case startswith
    case bstartswith
    case endswith
    case glob
    case iglob
    /// RE2's syntax, matching the whole value, as Falco's.
    case regex
    case exists

    /// The operators whose operand is a parenthesised list.
    public var takesList: Bool { self == .in || self == .intersects || self == .pmatch }

    static let words: [String: ComparisonOperator] = Dictionary(
        uniqueKeysWithValues: allCases.filter { $0.rawValue.first!.isLetter }.map { ($0.rawValue, $0) }
    )
}

/// A literal as written: its text, whether it was quoted, and where.
public struct Literal: Sendable {
    public let text: String
    public let quoted: Bool
    public let position: ConditionPosition

    public init(text: String, quoted: Bool, position: ConditionPosition) {
        self.text = text
        self.quoted = quoted
        self.position = position
    }
}

public enum Operand: Sendable {
    /// `exists` takes none.
    case none
    case value(Literal)
    /// The items of `in (...)`; an unquoted item may name a list, which expansion replaces.
    case list([Literal])
    /// `val(field)`: another field's value in the same event (`proc.pname = val(proc.name)`).
    case field(FieldReference)
}

/// Falco's `proc.name startswith oneof (a, b)`: the operator applied to each value of a list.
public enum ListModifier: String, CaseIterable, Sendable {
    /// Exactly one of the values holds.
    case oneof
    /// At least one holds.
    case anyof
    /// Every one holds.
    case allof
}

public struct Comparison: Sendable {
    public let field: FieldReference
    public let op: ComparisonOperator
    public let operatorPosition: ConditionPosition
    public var operand: Operand
    /// With a modifier the operand is a list, each item compared with `op`.
    public let modifier: ListModifier?

    public init(field: FieldReference, op: ComparisonOperator, operatorPosition: ConditionPosition, operand: Operand, modifier: ListModifier? = nil) {
        self.field = field
        self.op = op
        self.operatorPosition = operatorPosition
        self.operand = operand
        self.modifier = modifier
    }
}

extension String {
    var replacingNewlines: String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
}

extension Expression {
    /// What the condition says, without where it was written: two conditions that mean the same
    /// comparisons in the same shape have the same text, wherever their files put them (a reload
    /// keeps a rule whose meaning did not change).
    public var canonicalText: String {
        switch self {
        case .and(let left, let right): return "(\(left.canonicalText) and \(right.canonicalText))"
        case .or(let left, let right): return "(\(left.canonicalText) or \(right.canonicalText))"
        case .not(let inner): return "(not \(inner.canonicalText))"
        case .constant(let value): return value ? "true" : "false"
        case .reference(let name, _): return name
        case .comparison(let comparison):
            var text = comparison.field.text + " "
            if let modifier = comparison.modifier { text += modifier.rawValue + " " }
            text += comparison.op.rawValue
            switch comparison.operand {
            case .none: break
            case .value(let literal): text += " " + literal.canonicalText
            case .list(let literals): text += " (" + literals.map(\.canonicalText).joined(separator: ", ") + ")"
            case .field(let field): text += " val(\(field.text))"
            }
            return text
        }
    }
}

extension Literal {
    /// Quoted as JSON quotes strings, so that no literal's text can pass for syntax around it.
    var canonicalText: String {
        var writer = JSONWriter()
        writer.string(text)
        return quoted ? writer.text : "~" + writer.text
    }
}
