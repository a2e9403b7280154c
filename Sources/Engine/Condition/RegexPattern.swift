#if canImport(Glibc)
import Glibc
#endif

/// Falco's `regex`: the whole value must match (RE2's anchored match), written in RE2's syntax.
///
/// The pattern is compiled once, with glibc's POSIX matcher, which simulates the automaton rather
/// than backtracking: a hostile pattern such as `(a+)+$` costs time in proportion to the value,
/// never exponential. What would need backtracking (backreferences) is refused, as RE2 refuses it.
/// RE2's shorthands are translated (`\d`, `(?:...)`, `(?i)`, lazy quantifiers, which cannot change
/// whether a whole value matches); what has no POSIX equivalent is refused with a message.
final class RegexPattern: @unchecked Sendable {
    private let compiled: UnsafeMutablePointer<regex_t>

    static let maximumLength = 1000
    /// The largest count in `{n,m}`: POSIX matchers expand counted repeats, so big ones cost memory.
    static let maximumCount = 100

    struct Refusal: Error {
        let message: String
    }

    init(_ pattern: String) throws(Refusal) {
        guard pattern.utf8.count <= Self.maximumLength else {
            throw Refusal(message: "the regex is longer than \(Self.maximumLength) bytes")
        }
        let (translated, caseInsensitive) = try Self.translate(pattern)
        compiled = .allocate(capacity: 1)
        let flags = REG_EXTENDED | REG_NOSUB | (caseInsensitive ? REG_ICASE : 0)
        let status = regcomp(compiled, "^(" + translated + ")$", flags)
        guard status == 0 else {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &buffer, buffer.count)
            compiled.deallocate()
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Refusal(message: "invalid regex: \(text)")
        }
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    func matches(_ value: String) -> Bool {
        if let result = value.utf8.withContiguousStorageIfAvailable({ matches($0) }) { return result }
        return Array(value.utf8).withUnsafeBufferPointer { matches($0) }
    }

    /// REG_STARTEND bounds the value by its length: a NUL inside it does not end it early.
    private func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var bounds = regmatch_t(rm_so: 0, rm_eo: regoff_t(bytes.count))
        return bytes.withMemoryRebound(to: CChar.self) { characters in
            // An empty value has no base address; any valid pointer with length 0 will do.
            let start = characters.baseAddress ?? UnsafePointer(bitPattern: 1)!
            return regexec(compiled, start, 1, &bounds, REG_STARTEND) == 0
        }
    }

    // MARK: - RE2 to POSIX extended

    private static func translate(_ pattern: String) throws(Refusal) -> (String, caseInsensitive: Bool) {
        var characters = Array(pattern)
        var caseInsensitive = false
        if characters.starts(with: Array("(?i)")) {
            caseInsensitive = true
            characters.removeFirst(4)
        }
        var output = ""
        var index = 0
        func next() -> Character? { index < characters.count ? characters[index] : nil }
        while index < characters.count {
            let character = characters[index]
            index += 1
            switch character {
            case "\\":
                guard let escaped = next() else { throw Refusal(message: "the regex ends with a lone '\\'") }
                index += 1
                output += try translateEscape(escaped, inBracket: false)
            case "[":
                output += try translateBracket(characters, &index)
            case "(":
                if next() == "?" {
                    // (?:re) and (?P<name>re) group as (re) does; other (? forms have no POSIX form.
                    if index + 1 < characters.count, characters[index + 1] == ":" {
                        index += 2
                    } else if index + 2 < characters.count, characters[index + 1] == "P", characters[index + 2] == "<",
                              let close = characters[index...].firstIndex(of: ">") {
                        index = close + 1
                    } else {
                        throw Refusal(message: "'(?' flags other than a leading (?i) are not supported")
                    }
                }
                output.append("(")
            case "*", "+", "?":
                output.append(character)
                if next() == "?" { index += 1 }
            case "{":
                guard let close = characters[index...].firstIndex(of: "}") else {
                    output += "\\{"
                    continue
                }
                let counts = String(characters[index..<close]).split(separator: ",", omittingEmptySubsequences: false)
                guard (1...2).contains(counts.count), counts.allSatisfy({ $0.isEmpty || Int($0) != nil }), !counts[0].isEmpty else {
                    throw Refusal(message: "'{\(String(characters[index..<close]))}' is not a count such as {2} or {1,5}")
                }
                if counts.compactMap({ Int($0) }).contains(where: { $0 > maximumCount }) {
                    throw Refusal(message: "a count in {n,m} may be at most \(maximumCount)")
                }
                output += "{" + String(characters[index..<close]) + "}"
                index = close + 1
                if next() == "?" { index += 1 }
            default:
                output.append(character)
            }
        }
        return (output, caseInsensitive)
    }

    private static func translateEscape(_ escaped: Character, inBracket: Bool) throws(Refusal) -> String {
        switch escaped {
        case "d": return inBracket ? "0-9" : "[0-9]"
        case "s": return inBracket ? "[:space:]" : "[[:space:]]"
        case "w": return inBracket ? "[:alnum:]_" : "[[:alnum:]_]"
        case "D" where !inBracket: return "[^0-9]"
        case "S" where !inBracket: return "[^[:space:]]"
        case "W" where !inBracket: return "[^[:alnum:]_]"
        case "n": return "\n"
        case "t": return "\t"
        case "b" where !inBracket, "B" where !inBracket: return "\\\(escaped)"
        case "]" where inBracket, "^" where inBracket, "-" where inBracket:
            throw Refusal(message: "'\\\(escaped)' in [...]: write ] first, ^ anywhere but first and - last, as POSIX reads them")
        default:
            if escaped.isNumber { throw Refusal(message: "backreferences (\\\(escaped)) are not supported, as in RE2") }
            guard escaped.isPunctuation || escaped.isSymbol || escaped == " " else {
                throw Refusal(message: "'\\\(escaped)' is not supported (use \\d, \\s, \\w, \\b or an escaped punctuation character)")
            }
            return inBracket ? String(escaped) : "\\\(escaped)"
        }
    }

    /// `[...]`, its `[` already read: escapes inside it are RE2's, which POSIX reads literally.
    private static func translateBracket(_ characters: [Character], _ index: inout Int) throws(Refusal) -> String {
        var output = "["
        if index < characters.count, characters[index] == "^" {
            output.append("^")
            index += 1
        }
        var first = true
        while index < characters.count {
            let character = characters[index]
            index += 1
            if character == "]" && !first { return output + "]" }
            first = false
            if character == "[", index < characters.count, characters[index] == ":",
               let close = characters[index...].firstIndex(of: "]") {
                output += "[" + String(characters[index...close])
                index = close + 1
            } else if character == "\\" {
                guard index < characters.count else { break }
                output += try translateEscape(characters[index], inBracket: true)
                index += 1
            } else {
                output.append(character)
            }
        }
        throw Refusal(message: "unclosed '[' in the regex")
    }
}
