/// Substring search over UTF-8 bytes, as Falco compares: no Unicode normalisation, and
/// `icontains` folds ASCII letters only. Swift's `String.contains` is Unicode-aware and far slower.
struct ByteNeedle {
    private let needle: [UInt8]
    private let caseInsensitive: Bool

    init(_ text: String, caseInsensitive: Bool) {
        self.init(bytes: Array(text.utf8), caseInsensitive: caseInsensitive)
    }

    init(bytes: [UInt8], caseInsensitive: Bool = false) {
        self.caseInsensitive = caseInsensitive
        needle = caseInsensitive ? bytes.map(foldASCII) : bytes
    }

    func isFound(in haystack: String) -> Bool {
        if needle.isEmpty { return true }
        if let found = haystack.utf8.withContiguousStorageIfAvailable({ search($0) }) { return found }
        return Array(haystack.utf8).withUnsafeBufferPointer { search($0) }
    }

    private func search(_ haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        let lastStart = haystack.count - needle.count
        return needle.withUnsafeBufferPointer { needle in
            var start = 0
            while start <= lastStart {
                let byte = caseInsensitive ? foldASCII(haystack[start]) : haystack[start]
                if byte == first {
                    var offset = 1
                    while offset < needle.count {
                        let candidate = caseInsensitive ? foldASCII(haystack[start + offset]) : haystack[start + offset]
                        if candidate != needle[offset] { break }
                        offset += 1
                    }
                    if offset == needle.count { return true }
                }
                start += 1
            }
            return false
        }
    }
}

/// `pmatch`'s test: a path is the prefix's, or lies below it, a directory boundary apart.
struct PathPrefix {
    private let prefix: [UInt8]

    init(_ path: String) {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        prefix = bytes
    }

    func holds(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.starts(with: prefix) else { return false }
        if bytes.count == prefix.count || prefix == [UInt8(ascii: "/")] { return true }
        return bytes[bytes.index(bytes.startIndex, offsetBy: prefix.count)] == UInt8(ascii: "/")
    }
}

@inline(__always)
private func foldASCII(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

/// Shell-style wildcards over bytes: `*` any run (slashes included, as in Falco), `?` one byte,
/// `[abc]`, `[a-z]` and `[!a]` one byte of a set; `\` escapes the next character. Case-insensitive
/// (`iglob`) folds ASCII letters, on both sides.
struct GlobPattern {
    private enum Token {
        case byte(UInt8)
        case anyByte
        case anyRun
        case set([ClosedRange<UInt8>], negated: Bool)
    }

    private let tokens: [Token]
    private let caseInsensitive: Bool

    init(_ pattern: String, caseInsensitive: Bool = false) {
        self.caseInsensitive = caseInsensitive
        let bytes = caseInsensitive ? pattern.utf8.map(foldASCII) : Array(pattern.utf8)
        var tokens: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "*"):
                tokens.append(.anyRun)
            case UInt8(ascii: "?"):
                tokens.append(.anyByte)
            case UInt8(ascii: "\\") where index + 1 < bytes.count:
                index += 1
                tokens.append(.byte(bytes[index]))
            case UInt8(ascii: "["):
                if let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "]")), close > index + 1 {
                    var members = Array(bytes[(index + 1)..<close])
                    let negated = members.first == UInt8(ascii: "!") || members.first == UInt8(ascii: "^")
                    if negated { members.removeFirst() }
                    var ranges: [ClosedRange<UInt8>] = []
                    var position = 0
                    while position < members.count {
                        if position + 2 < members.count, members[position + 1] == UInt8(ascii: "-"), members[position] <= members[position + 2] {
                            ranges.append(members[position]...members[position + 2])
                            position += 3
                        } else {
                            ranges.append(members[position]...members[position])
                            position += 1
                        }
                    }
                    tokens.append(.set(ranges, negated: negated))
                    index = close
                } else {
                    tokens.append(.byte(byte))
                }
            default:
                tokens.append(.byte(byte))
            }
            index += 1
        }
        self.tokens = tokens
    }

    func matches(_ text: String) -> Bool {
        let bytes = caseInsensitive ? text.utf8.map(foldASCII) : Array(text.utf8)
        // Iterative matching with one backtrack point for the latest `*`: linear in practice,
        // never exponential.
        var textIndex = 0, tokenIndex = 0
        var starToken = -1, starText = 0
        while textIndex < bytes.count {
            if tokenIndex < tokens.count {
                switch tokens[tokenIndex] {
                case .anyRun:
                    starToken = tokenIndex
                    starText = textIndex
                    tokenIndex += 1
                    continue
                case .anyByte:
                    textIndex += 1
                    tokenIndex += 1
                    continue
                case .byte(let expected) where expected == bytes[textIndex]:
                    textIndex += 1
                    tokenIndex += 1
                    continue
                case .set(let ranges, let negated) where ranges.contains(where: { $0.contains(bytes[textIndex]) }) != negated:
                    textIndex += 1
                    tokenIndex += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            tokenIndex = starToken + 1
            starText += 1
            textIndex = starText
        }
        while tokenIndex < tokens.count, case .anyRun = tokens[tokenIndex] { tokenIndex += 1 }
        return tokenIndex == tokens.count
    }
}
