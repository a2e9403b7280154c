import Engine
import Outputs
import SentinelJSON

/// The JSON config file (`--config`): rule paths, outputs, and the minimum priority.
///
///     { "rules": ["/etc/sentinel/rules"],
///       "min_priority": "NOTICE",
///       "outputs": [ { "type": "stdout", "format": "text" },
///                    { "type": "file", "path": "/var/log/sentinel.jsonl", "min_priority": "WARNING" },
///                    { "type": "syslog", "transport": "unix", "path": "/dev/log", "format": "rfc5424" } ] }
struct Config {
    var rulePaths: [String] = []
    var minimumPriority: Priority = .debug
    var outputs: [(sink: AlertSink, minimumPriority: Priority)] = []
    var hasOutputs = false

    static let keys = ["$schema", "rules", "min_priority", "outputs"]

    static func load(path: String, diagnostics: Diagnostics) -> Config? {
        guard let source = diagnostics.take(JSONSource.load(path: path)),
              let root = diagnostics.take(source.parse()),
              let object = root.object(diagnostics, allowedKeys: keys) else { return nil }
        var config = Config()
        if let rules = object.optional("rules")?.stringArray(diagnostics) { config.rulePaths = rules }
        if let cursor = object.optional("min_priority"), let text = cursor.string(diagnostics) {
            if let priority = Priority(name: text) {
                config.minimumPriority = priority
            } else {
                diagnostics.add(cursor.diagnostic("unknown priority \"\(text)\" (expected one of: \(Priority.allCases.map(\.ruleName).joined(separator: ", ")))"))
            }
        }
        if let outputs = object.optional("outputs")?.array(diagnostics) {
            config.hasOutputs = true
            for output in outputs {
                if let made = SinkRegistry.make(output, diagnostics: diagnostics) { config.outputs.append(made) }
            }
        }
        return diagnostics.hasErrors ? nil : config
    }
}
