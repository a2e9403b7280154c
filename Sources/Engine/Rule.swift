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

/// A rule ready to run.
public final class CompiledRule {
    public let name: String
    public let description: String
    public let priority: Priority
    public let tags: [String]
    public let source: String
    public let condition: CompiledCondition
    public let output: OutputTemplate
    public let builtin: BuiltinRule?
    public internal(set) var alertCount: UInt64 = 0

    public init(name: String, description: String = "", priority: Priority, tags: [String] = [], source: String = "syscall",
                condition: CompiledCondition, output: OutputTemplate, builtin: BuiltinRule? = nil) {
        self.name = name
        self.description = description
        self.priority = priority
        self.tags = tags
        self.source = source
        self.condition = condition
        self.output = output
        self.builtin = builtin
    }

    /// The same rule with `extra` after its output (`--append-output`).
    public func appendingOutput(_ extra: OutputTemplate) -> CompiledRule {
        CompiledRule(name: name, description: description, priority: priority, tags: tags, source: source,
                     condition: condition, output: output.appending(extra), builtin: builtin)
    }

    /// The same rule with no alerts counted and fresh built-in state.
    public var freshCopy: CompiledRule {
        CompiledRule(name: name, description: description, priority: priority, tags: tags, source: source,
                     condition: condition, output: output, builtin: builtin?.fresh())
    }
}
