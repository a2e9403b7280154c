import Engine
import SentinelJSON

/// A built-in rule type: made from a rule's `params`, it judges the events its rule's condition
/// selects (`"type": "threshold"`). Register a new type in `RuleTypeRegistry.types`.
public protocol RuleType: SendableMetatype {
    static var name: String { get }
    static var parameterNames: [String] { get }
    /// The output used when the rule gives none; may name the type's finding fields.
    static var defaultOutput: String { get }
    /// The names its alerts add to the event's fields (`%threshold.count`): a rule's output may
    /// name them, whether the rule is enabled or not.
    static var findingFields: [String] { get }
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
/// bomb), of failed opens. With `distinct` (fields), only matches that differ in those fields count:
/// connections to `count` different destinations are a scan, while a busy client makes as many to
/// the one server it uses. After firing, the count starts again, so a sustained burst alerts once
/// per `count` matches rather than on every event.
public final class ThresholdRule: BuiltinRule, RuleType {
    public static let name = "threshold"
    public static let parameterNames = ["count", "seconds", "per", "distinct"]
    public static let defaultOutput = "%threshold.count matching events in %threshold.seconds s (%threshold.key)"
    /// Most distinct keys tracked at once; the least recently active is forgotten beyond it.
    static let maximumKeys = 4096

    public static let findingFields = ["threshold.count", "threshold.seconds", "threshold.key"]
    public var findingFields: [String] { Self.findingFields }
    private let count: Int
    private let window: UInt64
    private let seconds: Int64
    private let key: FieldAccessor
    private let distinct: [FieldAccessor]
    /// Per key, the times of the last `count` matches, as a ring.
    private var recent: [String: (times: [UInt64], next: Int, lastSeen: UInt64)] = [:]
    /// With `distinct`: per key, when each distinct value last matched (at most `count` values,
    /// since the rule fires and starts again on the count-th). A value is kept as the hash of its
    /// fields, not their text: no string is made per event, and a collision (one in 2^64) would
    /// only count two values as one.
    private var recentValues: [String: (values: [Int: UInt64], lastSeen: UInt64)] = [:]

    init(count: Int, seconds: Int64, key: FieldAccessor, distinct: [FieldAccessor]) {
        self.count = count
        self.seconds = seconds
        window = UInt64(seconds) * 1_000_000_000
        self.key = key
        self.distinct = distinct
    }

    public static func make(params: JSONObjectCursor, diagnostics: Diagnostics) -> BuiltinRule? {
        let count = params.required("count", diagnostics)?.integer(diagnostics, in: 1...100_000)
        let seconds = params.required("seconds", diagnostics)?.integer(diagnostics, in: 1...86_400)
        var key = FieldRegistry.field(named: "container.id")!.accessor(index: nil)
        if let perCursor = params.optional("per") {
            guard let accessor = field(perCursor, for: "per", diagnostics) else { return nil }
            key = accessor
        }
        var distinct: [FieldAccessor] = []
        if let distinctCursor = params.optional("distinct") {
            let cursors: [JSONCursor]
            if case .string = distinctCursor.node.value { cursors = [distinctCursor] } else { cursors = distinctCursor.array(diagnostics) ?? [] }
            if cursors.isEmpty { diagnostics.add(distinctCursor.diagnostic("distinct names one field or more")) }
            distinct = cursors.compactMap { field($0, for: "distinct", diagnostics) }
            guard distinct.count == cursors.count, !cursors.isEmpty else { return nil }
        }
        guard let count, let seconds else { return nil }
        return ThresholdRule(count: Int(count), seconds: seconds, key: key, distinct: distinct)
    }

    /// A field without an argument, named by a parameter.
    private static func field(_ cursor: JSONCursor, for parameter: String, _ diagnostics: Diagnostics) -> FieldAccessor? {
        guard let name = cursor.string(diagnostics) else { return nil }
        if let field = FieldRegistry.field(named: name), field.argument == .none { return field.accessor(index: nil) }
        diagnostics.add(cursor.diagnostic("unknown field \"\(name)\" for \(parameter)" + FieldRegistry.hint(forUnknown: name)))
        return nil
    }

    public func fresh() -> BuiltinRule { ThresholdRule(count: count, seconds: seconds, key: key, distinct: distinct) }

    public func observe(_ context: EventContext) -> [String: FieldValue]? {
        let keyText = key.value(context).description
        let now = context.event.time
        let reached = distinct.isEmpty ? countMatch(keyText, at: now) : countDistinctMatch(keyText, context, at: now)
        guard reached else { return nil }
        return ["threshold.count": .number(Int64(count)), "threshold.seconds": .number(seconds), "threshold.key": .string(keyText)]
    }

    /// Whether this match is the count-th within the window. The entry is taken out of the table
    /// while it changes: a copy left in the table would make each change copy its storage.
    private func countMatch(_ keyText: String, at now: UInt64) -> Bool {
        var entry = recent.removeValue(forKey: keyText) ?? (times: [], next: 0, lastSeen: now)
        if entry.times.count < count {
            entry.times.append(now)
        } else {
            entry.times[entry.next] = now
            entry.next = (entry.next + 1) % count
        }
        entry.lastSeen = now
        // The oldest of the last `count` matches is at `next` once the ring is full.
        let oldest = entry.times.count < count ? nil : entry.times[entry.next]
        if let oldest, now &- oldest <= window { return true }
        makeRoom(in: &recent) { $0.lastSeen }
        recent[keyText] = entry
        return false
    }

    /// Whether this match brings the distinct values seen within the window to the count.
    private func countDistinctMatch(_ keyText: String, _ context: EventContext, at now: UInt64) -> Bool {
        var hasher = Hasher()
        for field in distinct { hasher.combine(field.value(context)) }
        let value = hasher.finalize()
        var entry = recentValues.removeValue(forKey: keyText) ?? (values: [:], lastSeen: now)
        entry.values[value] = now
        entry.lastSeen = now
        if entry.values.count >= count {
            entry.values = entry.values.filter { now &- $0.value <= window }
            if entry.values.count >= count { return true }
        }
        makeRoom(in: &recentValues) { $0.lastSeen }
        recentValues[keyText] = entry
        return false
    }

    /// Forgets the least recently active key when one more would pass `maximumKeys`.
    private func makeRoom<Entry>(in table: inout [String: Entry], lastSeen: (Entry) -> UInt64) {
        guard table.count >= Self.maximumKeys, let stalest = table.min(by: { lastSeen($0.value) < lastSeen($1.value) })?.key else { return }
        table[stalest] = nil
    }
}
