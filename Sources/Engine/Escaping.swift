/// Makes attacker-controlled text (argv, file names) safe for a one-line log: control characters
/// and Unicode line separators become visible escapes, so no value can start a forged log line.
/// Idempotent: escaped text has nothing left to escape.
public func escapeControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
        guard needsEscape(scalar) else {
            escaped.unicodeScalars.append(scalar)
            continue
        }
        switch scalar {
        case "\n": escaped += "\\n"
        case "\r": escaped += "\\r"
        case "\t": escaped += "\\t"
        default:
            let hex = String(scalar.value, radix: 16)
            escaped += scalar.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
        }
    }
    return escaped
}

private func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
}
