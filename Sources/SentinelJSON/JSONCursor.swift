/// A JSON value together with its JSON path and source, for reading a file into typed values
/// while recording every mismatch as a located diagnostic (and carrying on, to find the next one).
public struct JSONCursor: Sendable {
    public let node: JSONNode
    public let source: JSONSource
    /// The path is built only when an error needs it: reading a recorded event touches a dozen
    /// keys, and building a dozen strings per event would cost more than the rest of the decoding.
    private let parentPath: String
    private let key: String?

    public init(node: JSONNode, path: String, source: JSONSource) {
        self.node = node
        self.source = source
        parentPath = path
        key = nil
    }

    init(node: JSONNode, parentPath: String, key: String, source: JSONSource) {
        self.node = node
        self.source = source
        self.parentPath = parentPath
        self.key = key
    }

    /// `rules[3].condition`, `proc.args[2]`, `["odd key"]`.
    public var path: String {
        guard let key else { return parentPath }
        return Self.join(parentPath, key)
    }

    public var location: SourceLocation { source.location(of: node.offset) }

    public func diagnostic(_ message: String, severity: Diagnostic.Severity = .error, excerpt: [String] = []) -> Diagnostic {
        Diagnostic(severity: severity, file: source.name, location: location, path: path, message: message, excerpt: excerpt)
    }

    public func string(_ diagnostics: Diagnostics) -> String? {
        if case .string(let value) = node.value { return value }
        diagnostics.add(diagnostic("expected a string, found \(node.kindName)"))
        return nil
    }

    public func bool(_ diagnostics: Diagnostics) -> Bool? {
        if case .bool(let value) = node.value { return value }
        diagnostics.add(diagnostic("expected true or false, found \(node.kindName)"))
        return nil
    }

    public func integer(_ diagnostics: Diagnostics, in range: ClosedRange<Int64> = Int64.min...Int64.max) -> Int64? {
        guard case .integer(let value) = node.value else {
            diagnostics.add(diagnostic("expected an integer, found \(node.kindName)"))
            return nil
        }
        guard range.contains(value) else {
            diagnostics.add(diagnostic("\(value) is out of range \(range.lowerBound)...\(range.upperBound)"))
            return nil
        }
        return value
    }

    /// A number, integer or not, within `range`.
    public func number(_ diagnostics: Diagnostics, in range: ClosedRange<Double>) -> Double? {
        let value: Double
        switch node.value {
        case .integer(let integer): value = Double(integer)
        case .double(let double): value = double
        default:
            diagnostics.add(diagnostic("expected a number, found \(node.kindName)"))
            return nil
        }
        guard range.contains(value) else {
            diagnostics.add(diagnostic("\(value) is out of range \(range.lowerBound)...\(range.upperBound)"))
            return nil
        }
        return value
    }

    public func array(_ diagnostics: Diagnostics) -> [JSONCursor]? {
        guard case .array(let elements) = node.value else {
            diagnostics.add(diagnostic("expected an array, found \(node.kindName)"))
            return nil
        }
        return elements.enumerated().map { JSONCursor(node: $1, path: "\(path)[\($0)]", source: source) }
    }

    /// The strings of an array of strings; a non-string element is reported and left out.
    public func stringArray(_ diagnostics: Diagnostics) -> [String]? {
        array(diagnostics)?.compactMap { $0.string(diagnostics) }
    }

    /// This value as an object whose keys must all be among `allowedKeys`: an unknown key is a typo
    /// more often than not, and a typo silently ignored is a rule that silently does less.
    public func object(_ diagnostics: Diagnostics, allowedKeys: [String]) -> JSONObjectCursor? {
        guard case .object(let members) = node.value else {
            diagnostics.add(diagnostic("expected an object, found \(node.kindName)"))
            return nil
        }
        for member in members where !allowedKeys.contains(member.key) {
            var message = "unknown key \"\(member.key)\""
            if let suggestion = closestMatch(to: member.key, among: allowedKeys) {
                message += " (did you mean \"\(suggestion)\"?)"
            } else {
                message += " (expected one of: \(allowedKeys.joined(separator: ", ")))"
            }
            diagnostics.add(Diagnostic(file: source.name, location: source.location(of: member.keyOffset),
                                       path: childPath(member.key), message: message))
        }
        return JSONObjectCursor(cursor: self, members: members)
    }

    public func childPath(_ key: String) -> String { Self.join(path, key) }

    private static func join(_ path: String, _ key: String) -> String {
        // Dotted keys (the field names of recorded events) read best as they are: `proc.pid`.
        let isIdentifier = key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
        if isIdentifier && !key.isEmpty { return path.isEmpty ? key : "\(path).\(key)" }
        var writer = JSONWriter()
        writer.string(key)
        return "\(path)[\(writer.text)]"
    }
}

/// The members of a JSON object, read by key.
public struct JSONObjectCursor: Sendable {
    public let cursor: JSONCursor
    public let members: [JSONNode.Member]

    public init(cursor: JSONCursor, members: [JSONNode.Member]) {
        self.cursor = cursor
        self.members = members
    }

    public var keys: [String] { members.map(\.key) }

    public func optional(_ key: String) -> JSONCursor? {
        guard let member = members.first(where: { $0.key == key }) else { return nil }
        return JSONCursor(node: member.value, parentPath: cursor.path, key: key, source: cursor.source)
    }

    public func required(_ key: String, _ diagnostics: Diagnostics) -> JSONCursor? {
        if let value = optional(key) { return value }
        diagnostics.add(cursor.diagnostic("missing required key \"\(key)\""))
        return nil
    }
}
