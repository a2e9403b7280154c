/// Alert priorities, Falco's and syslog's: the raw value is the syslog severity (0 is the gravest).
public enum Priority: Int, CaseIterable, Comparable, Sendable {
    case emergency = 0, alert, critical, error, warning, notice, informational, debug

    /// The name as Falco writes it in alerts: "Warning".
    public var displayName: String {
        switch self {
        case .emergency: return "Emergency"
        case .alert: return "Alert"
        case .critical: return "Critical"
        case .error: return "Error"
        case .warning: return "Warning"
        case .notice: return "Notice"
        case .informational: return "Informational"
        case .debug: return "Debug"
        }
    }

    /// The name as rule files write it: "WARNING".
    public var ruleName: String { displayName.uppercased() }

    /// Parses a priority name in any case; INFO is accepted for INFORMATIONAL, as Falco does.
    public init?(name: String) {
        let upper = name.uppercased()
        if upper == "INFO" {
            self = .informational
            return
        }
        guard let priority = Priority.allCases.first(where: { $0.ruleName == upper }) else { return nil }
        self = priority
    }

    /// More severe sorts first: `.critical < .warning` reads as "critical is above warning".
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether an alert of this priority passes a minimum: `.critical.isAtLeast(.warning)`.
    public func isAtLeast(_ minimum: Priority) -> Bool { rawValue <= minimum.rawValue }
}
