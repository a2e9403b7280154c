/// Parses the condition language, Falco's syntax:
///
///     condition  := or
///     or         := and ("or" and)*
///     and        := not ("and" not)*
///     not        := "not" not | primary
///     primary    := "(" or ")" | check | macro
///     check      := field ( "exists" | operator value | "in" "(" item ("," item)* ")" )
///     field      := name ("[" digits "]")?          e.g. proc.name, proc.aname[2]
///     operator   := = | == | != | < | <= | > | >= | contains | icontains | startswith | endswith | glob
///     value      := "quoted" | 'quoted' | bare      a bare value runs to a space, "(" or ")"
///     item       := value                           a bare item may name a list
///
/// Keywords are case-sensitive, as in Falco. Nesting is bounded so that hostile input cannot
/// exhaust the stack.
public struct ConditionParser {
    public static let maximumDepth = 100

    private let origin: ConditionOrigin
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    public static func parse(_ origin: ConditionOrigin) throws(ConditionError) -> Expression {
        var parser = ConditionParser(origin: origin)
        parser.skipSpaces()
        if parser.index == parser.bytes.count { throw parser.error("the condition is empty") }
        let expression = try parser.parseOr()
        parser.skipSpaces()
        if parser.index < parser.bytes.count {
            if parser.peek(UInt8(ascii: ")")) { throw parser.error("unbalanced ')'") }
            throw parser.error("expected 'and', 'or' or the end of the condition, found \(parser.describeNext())")
        }
        return expression
    }

    /// Parses an appended condition, which starts with `and` or `or`: the result is the
    /// continuation to combine with the earlier condition.
    public static func parseContinuation(_ origin: ConditionOrigin) throws(ConditionError) -> Expression {
        var parser = ConditionParser(origin: origin)
        let connective: (Expression) -> Expression
        if parser.consumeKeyword("and") {
            connective = { .and(.constant(true), $0) }
        } else if parser.consumeKeyword("or") {
            connective = { .or(.constant(false), $0) }
        } else {
            parser.skipSpaces()
            throw parser.error("an appended condition starts with 'and' or 'or'")
        }
        parser.skipSpaces()
        if parser.index == parser.bytes.count { throw parser.error("expected a condition after the connective") }
        let expression = try parser.parseOr()
        parser.skipSpaces()
        if parser.index < parser.bytes.count {
            throw parser.error("expected 'and', 'or' or the end of the condition, found \(parser.describeNext())")
        }
        return connective(expression)
    }

    private init(origin: ConditionOrigin) {
        self.origin = origin
        bytes = Array(origin.text.utf8)
    }

    private mutating func parseOr() throws(ConditionError) -> Expression {
        var left = try parseAnd()
        while consumeKeyword("or") {
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws(ConditionError) -> Expression {
        var left = try parseNot()
        while consumeKeyword("and") {
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws(ConditionError) -> Expression {
        if consumeKeyword("not") {
            try enterNesting()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ConditionError) -> Expression {
        skipSpaces()
        guard index < bytes.count else { throw error("unexpected end of the condition, expected a field, a macro or '('") }
        if peek(UInt8(ascii: "(")) {
            let opening = position
            index += 1
            try enterNesting()
            defer { depth -= 1 }
            let inner = try parseOr()
            skipSpaces()
            guard peek(UInt8(ascii: ")")) else {
                if index == bytes.count { throw ConditionError("unclosed '(': no matching ')'", at: opening) }
                throw error("expected ')' or 'and'/'or', found \(describeNext())")
            }
            index += 1
            return inner
        }
        let start = position
        guard let name = scanName() else {
            throw error("expected a field, a macro or '(', found \(describeNext())")
        }
        if ["and", "or"].contains(name) {
            throw ConditionError("expected a field, a macro or '(' before '\(name)'", at: start)
        }
        let field: FieldReference
        if let transformer = Transformer(rawValue: name), peek(UInt8(ascii: "(")) {
            field = try parseTransformed(transformer, at: start)
        } else {
            field = try parseFieldArgument(name: name, at: start)
        }
        // An argument or a transformer makes it a field, whatever follows: a macro has neither.
        let surelyAField = field.index != nil || field.key != nil || !field.transformers.isEmpty
        skipSpaces()
        let operatorPosition = position
        if let op = scanOperator() {
            if let modifier = scanModifier(after: op) {
                return .comparison(Comparison(field: field, op: op, operatorPosition: operatorPosition,
                                              operand: try parseList(after: "\(op.rawValue) \(modifier.rawValue)", namedListAllowed: true), modifier: modifier))
            }
            return .comparison(Comparison(field: field, op: op, operatorPosition: operatorPosition, operand: try parseOperand(for: op)))
        }
        if surelyAField || isWordStart() && name.contains(".") && !nextWordIsConnective() {
            if index == bytes.count { throw error("expected an operator after '\(field.text)'") }
            throw error("unknown operator \(describeNext()) after '\(field.text)' (expected one of: \(ComparisonOperator.allCases.map(\.rawValue).joined(separator: " ")))")
        }
        return .reference(name, start)
    }

    private mutating func parseOperand(for op: ComparisonOperator) throws(ConditionError) -> Operand {
        switch op {
        case .exists:
            return .none
        case .in, .intersects, .pmatch:
            return try parseList(after: op.rawValue, namedListAllowed: false)
        default:
            skipSpaces()
            guard index < bytes.count, !peek(UInt8(ascii: ")")) else { throw error("expected a value after '\(op.rawValue)'") }
            if matches("val("), case let start = position {
                index += 3
                return .field(try parseTransformed(nil, at: start))
            }
            return .value(try scanValue(inList: false))
        }
    }

    /// `oneof`, `anyof` or `allof` after a string operator, when a list follows it (Falco's rule:
    /// otherwise the word is the value, as in `proc.name = oneof`).
    private mutating func scanModifier(after op: ComparisonOperator) -> ListModifier? {
        guard !op.takesList, ![.exists, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(op) else { return nil }
        let start = index
        skipSpaces()
        if let word = scanName(), let modifier = ListModifier(rawValue: word), isBoundary() {
            skipSpaces()
            if peek(UInt8(ascii: "(")) || (isWordStart() && !nextWordIsConnective()) { return modifier }
        }
        index = start
        return nil
    }

    /// `(a, b, ...)`; after a modifier, a list's name may stand for it, as in Falco.
    private mutating func parseList(after written: String, namedListAllowed: Bool) throws(ConditionError) -> Operand {
        skipSpaces()
        if namedListAllowed, !peek(UInt8(ascii: "(")) {
            let start = position
            guard let name = scanName() else { throw error("expected a list after '\(written)'") }
            return .list([Literal(text: name, quoted: false, position: start)])
        }
        guard peek(UInt8(ascii: "(")) else { throw error("expected '(' to open the list after '\(written)'") }
        let opening = position
        index += 1
        var items: [Literal] = []
        skipSpaces()
        if peek(UInt8(ascii: ")")) {
            index += 1
            return .list(items)
        }
        while true {
            skipSpaces()
            guard index < bytes.count else { throw ConditionError("unclosed '(': the list has no ')'", at: opening) }
            items.append(try scanValue(inList: true))
            skipSpaces()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            if peek(UInt8(ascii: ")")) {
                index += 1
                return .list(items)
            }
            if index == bytes.count { throw ConditionError("unclosed '(': the list has no ')'", at: opening) }
            throw error("expected ',' or ')' in the list, found \(describeNext())")
        }
    }

    // MARK: - Scanning

    private var position: ConditionPosition { ConditionPosition(origin: origin, offset: index) }

    private mutating func scanName() -> String? {
        let start = index
        while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
        guard index > start else { return nil }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// A field and its `[argument]`, once its name is read.
    private mutating func parseFieldArgument(name: String, at start: ConditionPosition) throws(ConditionError) -> FieldReference {
        guard peek(UInt8(ascii: "[")) else { return FieldReference(name: name, index: nil, position: start) }
        let (fieldIndex, fieldKey) = try scanArgument()
        return FieldReference(name: name, index: fieldIndex, key: fieldKey, position: start)
    }

    /// `transformer(field)`, nested as deep as the nesting bound allows, its `(` next; with no
    /// transformer, `val(field)`.
    private mutating func parseTransformed(_ transformer: Transformer?, at start: ConditionPosition) throws(ConditionError) -> FieldReference {
        let opening = position
        index += 1
        try enterNesting()
        defer { depth -= 1 }
        skipSpaces()
        let innerStart = position
        let written = transformer?.rawValue ?? "val"
        guard let name = scanName() else { throw error("expected a field inside '\(written)(', found \(describeNext())") }
        let inner = Transformer(rawValue: name) != nil && peek(UInt8(ascii: "("))
            ? try parseTransformed(Transformer(rawValue: name)!, at: innerStart)
            : try parseFieldArgument(name: name, at: innerStart)
        skipSpaces()
        guard peek(UInt8(ascii: ")")) else {
            if index == bytes.count { throw ConditionError("unclosed '(': '\(written)(' has no ')'", at: opening) }
            throw error("expected ')' to close '\(written)(', found \(describeNext())")
        }
        index += 1
        return transformer.map { inner.transformed(by: $0) } ?? inner
    }

    /// `[N]`, an index, or `[KEY]`, any text up to the `]` (an environment variable's name, a label).
    private mutating func scanArgument() throws(ConditionError) -> (index: Int?, key: String?) {
        let opening = position
        index += 1
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "]"), bytes[index] != UInt8(ascii: "[") { index += 1 }
        guard index > start, peek(UInt8(ascii: "]")) else {
            throw ConditionError("expected an index or a key and ']' after '['", at: opening)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return (nil, text) }
        // 0 is evt.arg[0]'s; the ancestors' fields, which count from 1, refuse it when compiled.
        guard let value = Int(text), value >= 0, value <= 1000 else { throw ConditionError("the index must be between 0 and 1000", at: opening) }
        return (value, nil)
    }

    private mutating func scanOperator() -> ComparisonOperator? {
        let symbols: [(String, ComparisonOperator)] = [
            ("==", .equal), ("!=", .notEqual), ("<=", .lessOrEqual), (">=", .greaterOrEqual),
            ("=", .equal), ("<", .less), (">", .greater),
        ]
        for (symbol, op) in symbols where matches(symbol) {
            index += symbol.utf8.count
            return op
        }
        let start = index
        guard let word = scanName() else { return nil }
        if let op = ComparisonOperator.words[word], isBoundary() { return op }
        index = start
        return nil
    }

    /// Falco's escapes in a quoted value, the `\\` at `index`: `\\` for a backslash (so a regex
    /// writes `\\d`), the quote itself, \b \f \n \r \t \/ and \xHH; `\ ` gives a backslash, as
    /// Falco's reader does. Anything else is an error there, and here.
    private mutating func unescape(quote: UInt8) throws(ConditionError) -> [UInt8] {
        let start = position
        let escaped = bytes[index + 1]
        index += 2
        switch escaped {
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: " "), UInt8(ascii: "\\"): return [UInt8(ascii: "\\")]
        case UInt8(ascii: "/"): return [escaped]
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            guard escaped == quote else {
                throw ConditionError("'\\\(Character(UnicodeScalar(escaped)))' inside a \(Character(UnicodeScalar(quote)))-quoted value: write the quote as it is", at: start)
            }
            return [escaped]
        case UInt8(ascii: "x"):
            guard index + 2 <= bytes.count, let byte = UInt8(String(decoding: bytes[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw ConditionError("'\\x' must be followed by two hex digits", at: start)
            }
            index += 2
            return [byte]
        default:
            throw ConditionError("unsupported escape '\\\(Character(UnicodeScalar(escaped)))' in a quoted value (write \\\\ for a backslash, as in Falco)", at: start)
        }
    }

    private mutating func scanValue(inList: Bool) throws(ConditionError) -> Literal {
        let start = position
        if peek(UInt8(ascii: "\"")) || peek(UInt8(ascii: "'")) {
            let quote = bytes[index]
            index += 1
            var value: [UInt8] = []
            while index < bytes.count, bytes[index] != quote {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    value += try unescape(quote: quote)
                    continue
                }
                value.append(bytes[index])
                index += 1
            }
            guard index < bytes.count else { throw ConditionError("unterminated quoted string", at: start) }
            index += 1
            return Literal(text: String(decoding: value, as: UTF8.self), quoted: true, position: start)
        }
        let begin = index
        while index < bytes.count {
            let byte = bytes[index]
            if isSpace(byte) || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || (inList && byte == UInt8(ascii: ",")) { break }
            index += 1
        }
        guard index > begin else { throw error("expected a value, found \(describeNext())") }
        return Literal(text: String(decoding: bytes[begin..<index], as: UTF8.self), quoted: false, position: start)
    }

    private mutating func consumeKeyword(_ keyword: String) -> Bool {
        skipSpaces()
        guard matches(keyword) else { return false }
        let end = index + keyword.utf8.count
        guard end == bytes.count || !isNameByte(bytes[end]) else { return false }
        index = end
        return true
    }

    private func nextWordIsConnective() -> Bool {
        for keyword in ["and", "or"] where matches(keyword) {
            let end = index + keyword.utf8.count
            if end == bytes.count || !isNameByte(bytes[end]) { return true }
        }
        return false
    }

    private func matches(_ text: String) -> Bool {
        let expected = Array(text.utf8)
        guard index + expected.count <= bytes.count else { return false }
        return bytes[index..<index + expected.count].elementsEqual(expected)
    }

    private func isBoundary() -> Bool { index == bytes.count || !isNameByte(bytes[index]) }
    private func isWordStart() -> Bool { index < bytes.count && !isSpace(bytes[index]) && bytes[index] != UInt8(ascii: ")") }

    private mutating func skipSpaces() {
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    private func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private mutating func enterNesting() throws(ConditionError) {
        depth += 1
        if depth > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private func error(_ message: String) -> ConditionError { ConditionError(message, at: position) }

    private func describeNext() -> String {
        guard index < bytes.count else { return "the end of the condition" }
        var end = index
        while end < bytes.count, !isSpace(bytes[end]), end - index < 20 { end += 1 }
        return "'\(String(decoding: bytes[index..<max(end, index + 1)], as: UTF8.self))'"
    }
}
