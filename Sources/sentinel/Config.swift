import Engine
import Outputs
import SentinelJSON
import Sensors
import Web

/// The JSON config file (`--config`): rule paths, outputs, and the minimum priority.
///
///     { "rules": ["/etc/sentinel/rules"],
///       "min_priority": "NOTICE",
///       "outputs": [ { "type": "stdout", "format": "text" },
///                    { "type": "file", "path": "/var/log/sentinel.jsonl", "min_priority": "WARNING" },
///                    { "type": "syslog", "transport": "unix", "path": "/dev/log", "format": "rfc5424" } ],
///       "pcap": { "snap_length": 65535, "filter": "tcp or (udp and port 53)", "packets_per_second": 200000 },
///       "web": { "listen": "127.0.0.1:8765" },
///       "watch_rules": true }
struct Config {
    var rulePaths: [String] = []
    var minimumPriority: Priority = .debug
    /// Parsed, not opened: the run opens them when it starts.
    var outputs: [OutputSpec] = []
    var hasOutputs = false
    /// How the pcap sensor captures, when rules read application messages.
    var pcap = PcapSensor.Options()
    /// Where /healthz, /metrics and /versions are served; nil (the default) serves none.
    var web: ListenAddress?
    /// Reload when a rule file or this file changes, as on SIGHUP.
    var watchRules = false

    static let keys = ["$schema", "rules", "min_priority", "outputs", "pcap", "web", "watch_rules"]
    static let defaultWebAddress = ListenAddress("127.0.0.1:8765")!

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
                if let spec = OutputSpec.parse(output, diagnostics: diagnostics) { config.outputs.append(spec) }
            }
        }
        if let cursor = object.optional("pcap"), let options = PcapSensor.Options.parse(cursor, diagnostics: diagnostics) { config.pcap = options }
        if let watch = object.optional("watch_rules")?.bool(diagnostics) { config.watchRules = watch }
        if let cursor = object.optional("web"), let web = cursor.object(diagnostics, allowedKeys: ["listen"]) {
            config.web = defaultWebAddress
            if let listen = web.optional("listen"), let text = listen.string(diagnostics) {
                if let address = ListenAddress(text) {
                    config.web = address
                } else {
                    diagnostics.add(listen.diagnostic("listen is a numeric address and a port: \"127.0.0.1:8765\", \"[::1]:8765\", or \"0.0.0.0:8765\" for every address"))
                }
            }
        }
        return diagnostics.hasErrors ? nil : config
    }
}
