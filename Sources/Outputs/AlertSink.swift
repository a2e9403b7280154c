import Engine
import SentinelJSON

/// Where alerts go. Each sink runs on its own queue behind `AlertDispatcher`, so `write` may block
/// (a TCP connection, a full disk) without stalling the sensors; a write that throws is retried.
public protocol AlertSink: AnyObject, SendableMetatype {
    /// The name a config file uses: `{"type": "syslog", ...}`.
    static var typeName: String { get }
    /// The keys its config may hold besides "type" and "min_priority".
    static var configKeys: [String] { get }
    static func make(config: JSONObjectCursor, diagnostics: Diagnostics) -> AlertSink?

    /// A short description for messages: "file /var/log/sentinel.jsonl".
    var label: String { get }
    func write(_ alert: Alert) throws
    /// Reopens files (after logrotate moved them, on SIGHUP) and reconnects.
    func reopen() throws
    func flush()
}

/// The sink types a config may name.
public enum SinkRegistry {
    public static let types: [AlertSink.Type] = [StdoutSink.self, FileSink.self, SyslogSink.self]

    public static func type(named name: String) -> AlertSink.Type? { types.first { $0.typeName == name } }

    /// Builds the sink an output config describes, with its minimum priority.
    public static func make(_ cursor: JSONCursor, diagnostics: Diagnostics) -> (sink: AlertSink, minimumPriority: Priority)? {
        guard case .object = cursor.node.value, let typeCursor = cursor.node["type"] else {
            diagnostics.add(cursor.diagnostic("an output is an object with a \"type\": \(types.map { $0.typeName }.joined(separator: ", "))"))
            return nil
        }
        let typeName = JSONCursor(node: typeCursor, path: cursor.childPath("type"), source: cursor.source)
        guard let name = typeName.string(diagnostics) else { return nil }
        guard let type = type(named: name) else {
            var message = "unknown output type \"\(name)\""
            if let suggestion = closestMatch(to: name, among: types.map { $0.typeName }) { message += " (did you mean \"\(suggestion)\"?)" }
            diagnostics.add(typeName.diagnostic(message))
            return nil
        }
        guard let object = cursor.object(diagnostics, allowedKeys: ["type", "min_priority"] + type.configKeys) else { return nil }
        var minimum = Priority.debug
        if let priorityCursor = object.optional("min_priority"), let text = priorityCursor.string(diagnostics) {
            guard let priority = Priority(name: text) else {
                diagnostics.add(priorityCursor.diagnostic("unknown priority \"\(text)\""))
                return nil
            }
            minimum = priority
        }
        guard let sink = type.make(config: object, diagnostics: diagnostics) else { return nil }
        return (sink, minimum)
    }
}

/// How a sink writes each alert.
public enum AlertFormat: String, Sendable {
    /// `2026-11-22T14:04:24.123456789Z: Warning Shell in container (...)`, as Falco's text output.
    case text
    /// One JSON object per line with Falco's keys.
    case json

    static func read(_ object: JSONObjectCursor, default defaultFormat: AlertFormat, _ diagnostics: Diagnostics) -> AlertFormat? {
        guard let cursor = object.optional("format") else { return defaultFormat }
        guard let text = cursor.string(diagnostics) else { return nil }
        guard let format = AlertFormat(rawValue: text) else {
            diagnostics.add(cursor.diagnostic("unknown format \"\(text)\" (expected text or json)"))
            return nil
        }
        return format
    }
}
