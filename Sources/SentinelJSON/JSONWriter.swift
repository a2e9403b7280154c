/// Builds JSON text directly into a byte buffer: alerts and recorded events are written this way,
/// one object per line, without an intermediate tree; files meant for people to read and edit
/// (imported rules) are indented.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []
    /// Spaces per level; 0 writes everything on one line.
    private let indent: Int

    public init(indent: Int = 0) {
        self.indent = indent
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        closeLevel()
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        closeLevel()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes a key; the next value written belongs to it.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        if indent > 0 { bytes.append(UInt8(ascii: " ")) }
        needsComma[needsComma.count - 1] = false
        afterKey = true
    }

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    public mutating func integer<T: BinaryInteger>(_ value: T) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func double(_ value: Double) {
        separate()
        bytes.append(contentsOf: (value.isFinite ? String(value) : "null").utf8)
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Set between a key and its value, which goes on the key's line.
    private var afterKey = false

    private mutating func separate() {
        guard let last = needsComma.last else { return }
        if afterKey {
            afterKey = false
        } else {
            if last { bytes.append(UInt8(ascii: ",")) }
            newLine(depth: needsComma.count)
        }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func closeLevel() {
        // An empty object or array stays `{}` or `[]`.
        if needsComma.removeLast() { newLine(depth: needsComma.count) }
    }

    private mutating func newLine(depth: Int) {
        guard indent > 0 else { return }
        bytes.append(0x0A)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * indent))
    }

    private mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// `0.9931` for 0.99312 with 4 digits: a fixed number of decimals, without Foundation's
/// String(format:).
public func decimal(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = String(scaled / Int64(scale))
    let fraction = String(scaled % Int64(scale))
    return (value < 0 ? "-" : "") + whole + (digits > 0 ? "." + String(repeating: "0", count: digits - fraction.count) + fraction : "")
}
