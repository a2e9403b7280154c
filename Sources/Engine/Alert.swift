/// A rule's finding on one event, as the outputs receive it. Field names follow Falco's JSON output.
public struct Alert: Sendable {
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: FieldValue

        public init(name: String, value: FieldValue) {
            self.name = name
            self.value = value
        }
    }

    /// The event's time, nanoseconds since the epoch.
    public let time: UInt64
    public let rule: String
    public let priority: Priority
    /// The rule's output template with the event's values, control characters escaped.
    public let output: String
    /// The fields the template names, with their raw values.
    public let outputFields: [Field]
    public let tags: [String]
    /// The kind of source the event came from ("syscall" for kernel events, as Falco says).
    public let source: String

    public init(time: UInt64, rule: String, priority: Priority, output: String, outputFields: [Field], tags: [String], source: String) {
        self.time = time
        self.rule = rule
        self.priority = priority
        self.output = output
        self.outputFields = outputFields
        self.tags = tags
        self.source = source
    }
}
