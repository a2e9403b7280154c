/// A JSON value that remembers where it started in its text, so that an error found long after
/// parsing (a bad priority, an unknown field in a condition) can still name the line and column.
///
/// Foundation's decoders report a key path but no position, and they bridge numbers through
/// NSNumber (where `1` and `true` blur); rule files and recordings need both exact.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        case integer(Int64)
        case double(Double)
        case string(String)
        case array([JSONNode])
        case object([Member])
    }

    public struct Member: Sendable {
        public let key: String
        public let keyOffset: Int
        public let value: JSONNode
    }

    public let value: Value
    /// Byte offset of the value's first character in the text it was parsed from.
    public let offset: Int

    public init(_ value: Value, offset: Int = 0) {
        self.value = value
        self.offset = offset
    }

    /// The name of the value's JSON type, for error messages ("expected a string, found an array").
    public var kindName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }
}

/// A line and column, both counted from 1; the column counts characters, not bytes.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// The text a document was parsed from, kept to turn byte offsets back into lines and columns.
public struct JSONSource: Sendable {
    public let name: String
    public let bytes: [UInt8]
    /// The line number of the text's first line: a recording's line N is parsed on its own.
    public let firstLine: Int

    public init(name: String, bytes: [UInt8], firstLine: Int = 1) {
        self.name = name
        self.bytes = bytes
        self.firstLine = firstLine
    }

    public func location(of offset: Int) -> SourceLocation {
        var line = firstLine
        var lineStart = 0
        let end = min(offset, bytes.count)
        for index in 0..<end where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
        return SourceLocation(line: line, column: column)
    }

    /// The whole line holding `offset`, for showing an error in context.
    public func lineText(at offset: Int) -> String {
        let clamped = min(max(offset, 0), bytes.count)
        var start = clamped
        while start > 0, bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        var end = clamped
        while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

extension JSONNode {
    /// The value as compact JSON with each object's keys in order: equal for equal values however
    /// they were spaced or ordered in their files.
    public var canonicalText: String {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.text
    }

    private func write(to writer: inout JSONWriter) {
        switch value {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .integer(let value): writer.integer(value)
        case .double(let value): writer.double(value)
        case .string(let value): writer.string(value)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for member in members.sorted(by: { $0.key < $1.key }) {
                writer.key(member.key)
                member.value.write(to: &writer)
            }
            writer.endObject()
        }
    }
}
