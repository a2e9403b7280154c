import Engine
import SentinelJSON

/// A built-in rule type: made from a rule's `params`, it judges the events its rule's condition
/// selects (`"type": "threshold"`). Register a new type in `RuleTypeRegistry.types`.
public protocol RuleType: SendableMetatype {
    static var name: String { get }
    static var parameterNames: [String] { get }
    /// The output used when the rule gives none; may name the type's finding fields.
    static var defaultOutput: String { get }
    static func make(params: JSONObjectCursor, diagnostics: Diagnostics) -> BuiltinRule?
    /// The event types the type judges, whatever its condition says (the condition still selects
    /// among them); nil to take the condition's.
    static var observedEventTypes: Set<EventType>? { get }
}

extension RuleType {
    public static var observedEventTypes: Set<EventType>? { nil }
}

public enum RuleTypeRegistry {
    public static let types: [RuleType.Type] = [ThresholdRule.self, BoSCRule.self]

    public static var names: [String] { types.map { $0.name } }

    public static func type(named name: String) -> RuleType.Type? { types.first { $0.name == name } }
}

/// Fires when its condition matches at least `count` times within `seconds` for one value of the
/// `per` field (a container by default): bursts of connections (a port scan), of execs (a fork
/// bomb), of failed opens. After firing, the count starts again, so a sustained burst alerts once
/// per `count` matches rather than on every event.
public final class ThresholdRule: BuiltinRule, RuleType {
    public static let name = "threshold"
    public static let parameterNames = ["count", "seconds", "per"]
    public static let defaultOutput = "%threshold.count matching events in %threshold.seconds s (%threshold.key)"
    /// Most distinct keys tracked at once; the least recently active is forgotten beyond it.
    static let maximumKeys = 4096

    public let findingFields = ["threshold.count", "threshold.seconds", "threshold.key"]
    private let count: Int
    private let window: UInt64
    private let seconds: Int64
    private let key: FieldAccessor
    /// Per key, the times of the last `count` matches, as a ring.
    private var recent: [String: (times: [UInt64], next: Int, lastSeen: UInt64)] = [:]

    init(count: Int, seconds: Int64, key: FieldAccessor) {
        self.count = count
        self.seconds = seconds
        window = UInt64(seconds) * 1_000_000_000
        self.key = key
    }

    public static func make(params: JSONObjectCursor, diagnostics: Diagnostics) -> BuiltinRule? {
        let count = params.required("count", diagnostics)?.integer(diagnostics, in: 1...100_000)
        let seconds = params.required("seconds", diagnostics)?.integer(diagnostics, in: 1...86_400)
        var key = FieldRegistry.field(named: "container.id")!.accessor(index: nil)
        if let perCursor = params.optional("per"), let name = perCursor.string(diagnostics) {
            if let field = FieldRegistry.field(named: name), field.argument == .none {
                key = field.accessor(index: nil)
            } else {
                var message = "unknown field \"\(name)\" for per"
                if let suggestion = closestMatch(to: name, among: FieldRegistry.names) { message += " (did you mean \"\(suggestion)\"?)" }
                diagnostics.add(perCursor.diagnostic(message))
                return nil
            }
        }
        guard let count, let seconds else { return nil }
        return ThresholdRule(count: Int(count), seconds: seconds, key: key)
    }

    public func fresh() -> BuiltinRule { ThresholdRule(count: count, seconds: seconds, key: key) }

    public func observe(_ context: EventContext) -> [String: FieldValue]? {
        let keyText = key.value(context).description
        let now = context.event.time
        var entry = recent[keyText] ?? (times: [], next: 0, lastSeen: now)
        if entry.times.count < count {
            entry.times.append(now)
        } else {
            entry.times[entry.next] = now
            entry.next = (entry.next + 1) % count
        }
        entry.lastSeen = now
        // The oldest of the last `count` matches is at `next` once the ring is full.
        let oldest = entry.times.count < count ? nil : entry.times[entry.next]
        if let oldest, now &- oldest <= window {
            recent[keyText] = nil
            return ["threshold.count": .number(Int64(count)), "threshold.seconds": .number(seconds), "threshold.key": .string(keyText)]
        }
        if recent[keyText] == nil, recent.count >= Self.maximumKeys, let stalest = recent.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
            recent[stalest] = nil
        }
        recent[keyText] = entry
        return nil
    }
}
