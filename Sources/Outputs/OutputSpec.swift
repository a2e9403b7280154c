import Engine
import SentinelJSON

/// Which alerts an output takes: those of at least its priority and, when it names rules or tags,
/// only those of the named rules or carrying one of the tags (a pager gets the CRITICAL ones, a
/// team's webhook its own rules).
public struct AlertFilter: Sendable, Equatable {
    public var minimumPriority: Priority
    /// nil takes every rule.
    public var rules: Set<String>?
    /// nil takes every alert; otherwise the alert needs one of them.
    public var tags: Set<String>?

    public init(minimumPriority: Priority = .debug, rules: Set<String>? = nil, tags: Set<String>? = nil) {
        self.minimumPriority = minimumPriority
        self.rules = rules
        self.tags = tags
    }

    public func accepts(_ alert: Alert) -> Bool {
        guard alert.priority.isAtLeast(minimumPriority) else { return false }
        if let rules, !rules.contains(alert.rule) { return false }
        if let tags, !alert.tags.contains(where: tags.contains) { return false }
        return true
    }
}

/// One entry of the config's `outputs`: what to open and which alerts it takes.
public struct OutputSpec: Sendable {
    public let sink: SinkSpec
    public let filter: AlertFilter
    /// Where the config describes it, for a failure to open: the cursor's file, line and JSON path;
    /// nil for an output the command line made (`-o json`).
    public let origin: JSONCursor?

    /// Keys every output takes, whatever its type.
    public static let commonKeys = ["type", "min_priority", "rules", "tags"]

    public init(sink: SinkSpec, filter: AlertFilter = AlertFilter(), origin: JSONCursor? = nil) {
        self.sink = sink
        self.filter = filter
        self.origin = origin
    }

    /// Reads one output's config, reporting every problem in it.
    public static func parse(_ cursor: JSONCursor, diagnostics: Diagnostics) -> OutputSpec? {
        let typeNames = SinkRegistry.types.map { $0.typeName }
        guard case .object = cursor.node.value, let typeNode = cursor.node["type"] else {
            diagnostics.add(cursor.diagnostic("an output is an object with a \"type\": \(typeNames.joined(separator: ", "))"))
            return nil
        }
        let typeCursor = JSONCursor(node: typeNode, path: cursor.childPath("type"), source: cursor.source)
        guard let name = typeCursor.string(diagnostics) else { return nil }
        guard let type = SinkRegistry.type(named: name) else {
            var message = "unknown output type \"\(name)\""
            if let suggestion = closestMatch(to: name, among: typeNames) { message += " (did you mean \"\(suggestion)\"?)" }
            diagnostics.add(typeCursor.diagnostic(message))
            return nil
        }
        guard let object = cursor.object(diagnostics, allowedKeys: commonKeys + type.configKeys) else { return nil }
        let filter = parseFilter(object, diagnostics)
        guard let sink = type.parse(config: object, diagnostics: diagnostics), let filter else { return nil }
        return OutputSpec(sink: sink, filter: filter, origin: cursor)
    }

    private static func parseFilter(_ object: JSONObjectCursor, _ diagnostics: Diagnostics) -> AlertFilter? {
        let before = diagnostics.errors.count
        var filter = AlertFilter()
        if let cursor = object.optional("min_priority"), let text = cursor.string(diagnostics) {
            if let priority = Priority(name: text) {
                filter.minimumPriority = priority
            } else {
                diagnostics.add(cursor.diagnostic("unknown priority \"\(text)\" (expected one of: \(Priority.allCases.map(\.ruleName).joined(separator: ", ")))"))
            }
        }
        for (key, keyPath) in [("rules", \AlertFilter.rules), ("tags", \AlertFilter.tags)] {
            guard let cursor = object.optional(key), let names = cursor.stringArray(diagnostics) else { continue }
            if names.isEmpty { diagnostics.add(cursor.diagnostic("\(key) names at least one \(key == "rules" ? "rule" : "tag"); leave it out to take them all")) }
            filter[keyPath: keyPath] = Set(names)
        }
        return diagnostics.errors.count == before ? filter : nil
    }

    /// Opens the sink; a failure says which output of which file.
    public func open() throws(Diagnostic) -> AlertSink {
        do {
            return try sink.open()
        } catch {
            let message = "cannot open output \(sink.label): \(error)"
            throw origin?.diagnostic(message) ?? Diagnostic(file: "command line", location: nil, path: "", message: message)
        }
    }
}
