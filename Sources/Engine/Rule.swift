/// A rule type built into sentinel rather than written as a condition alone (the BoSC anomaly
/// detector, thresholds). Its rule's condition selects the events it observes; it decides when they
/// amount to an alert. Implementations register by name in the Rules module.
public protocol BuiltinRule: AnyObject {
    /// Names this rule reports with each finding, for the output template (`%threshold.count`).
    var findingFields: [String] { get }
    /// Sees one event the condition selected; returns the finding's values when the rule fires.
    func observe(_ context: EventContext) -> [String: FieldValue]?
    /// A new instance with the same parameters and none of the state: each rule test starts clean.
    func fresh() -> BuiltinRule
    /// Sees an event of a type the rule observes that its condition did not select (BoSC tells
    /// the sensor to stop sending such a container's calls).
    func passedOver(_ context: EventContext)
}

extension BuiltinRule {
    public func passedOver(_ context: EventContext) {}
}

/// A rule ready to run. Its engine's thread judges with it; other threads (`/metrics`) read only
/// its constants and its alert count, which is why it may cross to them.
public final class CompiledRule: @unchecked Sendable {
    public let name: String
    public let description: String
    public let priority: Priority
    public let tags: [String]
    public let source: String
    public let condition: CompiledCondition
    public let output: OutputTemplate
    public let builtin: BuiltinRule?
    /// Everything that decides what the rule does, as text (its name, condition, output, priority,
    /// tags, source, type and parameters), and nothing of where its file wrote it: a reload keeps
    /// the running rule, state and counts with it, when the new one's identity is the same.
    public let identity: String
    /// Alerts raised, counted by the engine's thread and read from any (`/metrics`).
    private let alertCounter = SingleWriterCounters(count: 1)
    public var alerts: UInt64 { alertCounter[0] }

    public init(name: String, description: String = "", priority: Priority, tags: [String] = [], source: String = "syscall",
                condition: CompiledCondition, output: OutputTemplate, builtin: BuiltinRule? = nil, identity: String? = nil) {
        self.name = name
        self.description = description
        self.priority = priority
        self.tags = tags
        self.source = source
        self.condition = condition
        self.output = output
        self.builtin = builtin
        self.identity = identity ?? name
    }

    func countAlert() { alertCounter.add(0) }

    /// The same rule with `extra` after its output (`--append-output`).
    public func appendingOutput(_ extra: OutputTemplate) -> CompiledRule {
        CompiledRule(name: name, description: description, priority: priority, tags: tags, source: source,
                     condition: condition, output: output.appending(extra), builtin: builtin, identity: identity)
    }

    /// The same rule with fresh built-in state.
    public var freshCopy: CompiledRule {
        CompiledRule(name: name, description: description, priority: priority, tags: tags, source: source,
                     condition: condition, output: output, builtin: builtin?.fresh(), identity: identity)
    }
}
