/// A page in Prometheus' text exposition format (version 0.0.4), written family by family: a
/// family's `# HELP` and `# TYPE` lines, then its samples. Values are read when the page is asked
/// for, from the counters sentinel's parts keep anyway, so that serving metrics adds nothing to
/// the event path (there is no registry to keep in step).
public struct PrometheusText {
    public enum Kind: String { case counter, gauge }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var text = ""
    private var families: Set<String> = []

    public init() {}

    /// Starts a family; its samples follow. A family is written once (Prometheus refuses a page
    /// that repeats one).
    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        precondition(families.insert(name).inserted, "metric family \(name) written twice")
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Double) {
        sample(name, labels: labels.map { ($0.key, $0.value) }, value)
    }

    public mutating func sample<Value: BinaryInteger>(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Value) {
        sample(name, labels: labels.map { ($0.key, $0.value) }, Double(value))
    }

    public mutating func sample<Value: BinaryInteger>(_ name: String, labels: [(String, String)], _ value: Value) {
        sample(name, labels: labels, Double(value))
    }

    public mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// A family of one sample without labels.
    public mutating func single<Value: BinaryInteger>(_ name: String, _ kind: Kind, _ help: String, _ value: Value) {
        family(name, kind, help)
        sample(name, [:], value)
    }

    private static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// In label values backslash, double quote and line feed are escaped; in help text, the first and the last.
    private static func escapeLabel(_ value: String) -> String { escape(value, quote: true) }
    private static func escapeHelp(_ value: String) -> String { escape(value, quote: false) }

    private static func escape(_ value: String, quote: Bool) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"" where quote: escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
