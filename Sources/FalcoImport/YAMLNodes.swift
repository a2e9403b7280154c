import SentinelJSON
import Yams

/// A node of a Falco rule file with what a message about it needs: its file, its line and column,
/// and a path a reader recognises (`rule "Terminal shell in container".exceptions[0]`).
struct YAMLCursor {
    let node: Node
    let file: String
    let path: String

    var location: SourceLocation {
        node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? SourceLocation(line: 1, column: 1)
    }

    func diagnostic(_ message: String, severity: Diagnostic.Severity = .error) -> Diagnostic {
        Diagnostic(severity: severity, file: file, location: location, path: path, message: message)
    }

    func child(_ node: Node, path: String) -> YAMLCursor {
        YAMLCursor(node: node, file: file, path: path)
    }

    var keys: [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.keys.compactMap(\.string)
    }

    subscript(key: String) -> YAMLCursor? {
        guard case .mapping(let mapping) = node, let value = mapping[key] else { return nil }
        return child(value, path: path.isEmpty ? key : "\(path).\(key)")
    }

    var kindName: String {
        switch node {
        case .scalar(let scalar) where scalar.tag.rawValue == Tag.Name.null.rawValue: return "null"
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case .alias: return "an alias"
        }
    }

    /// The text of a scalar, as Falco takes it (a number or a boolean is its text).
    func text(_ diagnostics: Diagnostics, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, scalar.tag.rawValue != Tag.Name.null.rawValue else {
            diagnostics.add(diagnostic("expected a scalar value, found \(kindName)"))
            return nil
        }
        if !allowEmpty, scalar.string.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" }) {
            diagnostics.add(diagnostic("the value is empty"))
            return nil
        }
        return scalar.string
    }

    func bool(_ diagnostics: Diagnostics) -> Bool? {
        if case .scalar = node, let value = node.bool { return value }
        diagnostics.add(diagnostic("expected true or false, found \(kindName == "a scalar" ? "\"\(node.string ?? "")\"" : kindName)"))
        return nil
    }

    func elements(_ diagnostics: Diagnostics) -> [YAMLCursor]? {
        guard case .sequence(let sequence) = node else {
            diagnostics.add(diagnostic("expected a sequence, found \(kindName)"))
            return nil
        }
        return sequence.enumerated().map { child($1, path: "\(path)[\($0)]") }
    }

    /// A sequence of scalars (a list's items, a rule's tags).
    func texts(_ diagnostics: Diagnostics) -> [String]? {
        guard let elements = elements(diagnostics) else { return nil }
        let before = diagnostics.errors.count
        let texts = elements.compactMap { $0.text(diagnostics) }
        return diagnostics.errors.count == before ? texts : nil
    }
}

/// Reads the documents of a YAML file; a syntax error is one located diagnostic.
func composeDocuments(_ text: String, file: String, _ diagnostics: Diagnostics) -> [YAMLCursor] {
    do {
        var documents: [YAMLCursor] = []
        // The sequence stops at a syntax error and keeps it, rather than throwing it.
        var sequence = try Yams.compose_all(yaml: text)
        while let node = sequence.next() {
            documents.append(YAMLCursor(node: node, file: file, path: ""))
        }
        if let error = sequence.error { throw error }
        return documents
    } catch let error as YamlError {
        diagnostics.add(yamlDiagnostic(error, file: file))
        return []
    } catch {
        diagnostics.add(Diagnostic(file: file, location: nil, path: "", message: "cannot read YAML: \(error)"))
        return []
    }
}

private func yamlDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
    let located: (String, Mark)?
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
         .composer(let context, let problem, let mark, _):
        located = ((context.map { "\($0.text) " } ?? "") + problem, mark)
    default:
        located = nil
    }
    guard let (problem, mark) = located else {
        return Diagnostic(file: file, location: nil, path: "", message: "invalid YAML: \(error)")
    }
    return Diagnostic(file: file, location: SourceLocation(line: mark.line, column: mark.column), path: "", message: "invalid YAML: \(problem)")
}
