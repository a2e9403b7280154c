/// One problem in an input file, located three ways: the file, the line and column of the value,
/// and the JSON path that a reader of the rule set recognises (`rules[3].condition`).
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public let severity: Severity
    public let file: String
    public let location: SourceLocation?
    public let path: String
    public let message: String
    /// Lines shown under the message: the offending text and a caret under the spot.
    public let excerpt: [String]

    public init(severity: Severity = .error, file: String, location: SourceLocation?, path: String, message: String, excerpt: [String] = []) {
        self.severity = severity
        self.file = file
        self.location = location
        self.path = path
        self.message = message
        self.excerpt = excerpt
    }

    public var description: String {
        var head = file
        if let location { head += ":\(location)" }
        head += ": "
        if severity == .warning { head += "warning: " }
        if !path.isEmpty { head += "\(path): " }
        return ([head + message] + excerpt.map { "    " + $0 }).joined(separator: "\n")
    }
}

/// Collects every problem of an input instead of stopping at the first, so that a user fixes a
/// broken rule set in one pass.
public final class Diagnostics {
    public private(set) var all: [Diagnostic] = []

    public init() {}

    public var errors: [Diagnostic] { all.filter { $0.severity == .error } }

    /// Errors first, then warnings; each in the order of the files given, then by line and column.
    public func sorted(fileOrder: [String]) -> [Diagnostic] {
        func rank(_ diagnostic: Diagnostic) -> (Int, Int, Int, Int) {
            (diagnostic.severity == .error ? 0 : 1, fileOrder.firstIndex(of: diagnostic.file) ?? fileOrder.count,
             diagnostic.location?.line ?? 0, diagnostic.location?.column ?? 0)
        }
        return all.enumerated().sorted { lhs, rhs in
            let (left, right) = (rank(lhs.element), rank(rhs.element))
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
    }
    public var warnings: [Diagnostic] { all.filter { $0.severity == .warning } }
    public var hasErrors: Bool { all.contains { $0.severity == .error } }

    /// The same message at the same place is kept once: a macro's error, met again by every rule
    /// that uses it, is reported where the macro is, once.
    public func add(_ diagnostic: Diagnostic) {
        guard seen.insert(diagnostic.description).inserted else { return }
        all.append(diagnostic)
    }

    private var seen: Set<String> = []

    /// The success value, or nil with the failure recorded: `guard let root = diagnostics.take(source.parse())`.
    public func take<Value>(_ result: Result<Value, Diagnostic>) -> Value? {
        switch result {
        case .success(let value): return value
        case .failure(let diagnostic):
            add(diagnostic)
            return nil
        }
    }
    public func add(contentsOf diagnostics: [Diagnostic]) { diagnostics.forEach(add) }
}

/// A list of diagnostics thrown as one error.
public struct DiagnosticsError: Error, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension JSONSource {
    /// Parses the whole source; a syntax error becomes a located diagnostic.
    public func parse() -> Result<JSONCursor, Diagnostic> {
        do {
            let root = try JSONParser.parse(bytes)
            return .success(JSONCursor(node: root, path: "", source: self))
        } catch {
            return .failure(Diagnostic(file: name, location: location(of: error.offset), path: "",
                                       message: "invalid JSON: \(error.message)", excerpt: caretExcerpt(at: error.offset)))
        }
    }

    /// The line at `offset` with a caret under the offset's column.
    public func caretExcerpt(at offset: Int) -> [String] {
        let line = lineText(at: offset)
        guard !line.isEmpty else { return [] }
        let column = location(of: offset).column
        return [line, String(repeating: " ", count: max(column - 1, 0)) + "^"]
    }
}

/// The name in `candidates` closest to `name` by edit distance, if it is close enough to be a
/// likely typo: feeds the "did you mean" of unknown keys, fields, macros and lists.
public func closestMatch(to name: String, among candidates: some Sequence<String>) -> String? {
    let target = Array(name.utf8)
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(target, Array(candidate.utf8))
        if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
    }
    guard let best, best.distance <= max(2, target.count / 4) else { return nil }
    return best.name
}

private func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
