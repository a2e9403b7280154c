import Engine
import Outputs
import SentinelJSON
import Sensors

/// The JSON config file (`--config`): rule paths, outputs, and the minimum priority.
///
///     { "rules": ["/etc/sentinel/rules"],
///       "min_priority": "NOTICE",
///       "outputs": [ { "type": "stdout", "format": "text" },
///                    { "type": "file", "path": "/var/log/sentinel.jsonl", "min_priority": "WARNING" },
///                    { "type": "syslog", "transport": "unix", "path": "/dev/log", "format": "rfc5424" } ],
///       "pcap": { "snap_length": 65535, "filter": "tcp or (udp and port 53)", "packets_per_second": 200000 } }
struct Config {
    var rulePaths: [String] = []
    var minimumPriority: Priority = .debug
    var outputs: [(sink: AlertSink, minimumPriority: Priority)] = []
    var hasOutputs = false
    /// How the pcap sensor captures, when rules read application messages.
    var pcap = PcapSensor.Options()

    static let keys = ["$schema", "rules", "min_priority", "outputs", "pcap"]

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
        if let cursor = object.optional("pcap"), let options = PcapSensor.Options.parse(cursor, diagnostics: diagnostics) { config.pcap = options }
        return diagnostics.hasErrors ? nil : config
    }
}
