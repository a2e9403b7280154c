/// Falco's transformers over a field's accessor: each wraps the read, so a rule that uses one pays
/// for the new text only on the events it judges.
extension Transformer {
    /// `accessor`, of a field of type `type`, with this transformer applied; the type that results.
    func apply(to accessor: FieldAccessor, of type: FieldType) -> (FieldAccessor, FieldType)? {
        guard case .string(let read) = accessor else { return nil }
        switch self {
        case .tolower: return (.string { read($0).map { mapASCII($0, from: 0x41...0x5a, offset: 0x20) } }, .string)
        case .toupper: return (.string { read($0).map { mapASCII($0, from: 0x61...0x7a, offset: -0x20) } }, .string)
        case .basename: return (.string { read($0).map(lastPathComponent) }, .string)
        case .b64: return (.string { read($0).flatMap(decodeBase64) }, .string)
        case .len: return (.number { read($0).map { Int64($0.utf8.count) } }, .number)
        }
    }
}

private func mapASCII(_ text: String, from letters: ClosedRange<UInt8>, offset: Int8) -> String {
    String(decoding: text.utf8.map { letters.contains($0) ? UInt8(Int16($0) + Int16(offset)) : $0 }, as: UTF8.self)
}

/// What follows the last `/` (all of it without one), as Falco's basename().
private func lastPathComponent(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(path[path.utf8.index(after: slash)...])
}

/// Standard base64, padded or not; nil for anything else (or text that does not decode as UTF-8
/// would: its bytes are kept as they are).
private func decodeBase64(_ text: String) -> String? {
    var bytes: [UInt8] = []
    var buffer: UInt32 = 0, bits = 0
    var padding = 0
    for character in text.utf8 {
        let value: UInt8
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): value = 62
        case UInt8(ascii: "/"): value = 63
        case UInt8(ascii: "="):
            padding += 1
            continue
        default: return nil
        }
        guard padding == 0 else { return nil }
        buffer = buffer << 6 | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    guard padding <= 2, bits < 6 else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}
