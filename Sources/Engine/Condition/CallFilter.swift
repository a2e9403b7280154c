/// A narrowing of one captured call that the kernel applies before it sends anything: when every
/// loaded rule on the call asks for one of a few values of the same argument (socket's domain
/// AF_PACKET, fcntl's cmd F_DUPFD) or of its result (dup's 0, 1 or 2), a call with any other value
/// cannot match and is not sent, as a call no rule names is not. A busy server makes thousands of
/// socket and fcntl calls a second that no rule wants; each would cost a record, a wake-up and an
/// event. Calls left out this way are not drops: no rule could have matched them.
public struct CallFilter: Sendable, Equatable {
    public enum Slot: Sendable, Hashable {
        case argument(Int)
        case result
    }

    public let slot: Slot
    /// The values as the engine reads them (`CapturedCall.number(of:in:)`): the kernel compares the
    /// register at the argument's C width, so that bits above an int cannot slip past.
    public let values: Set<Int64>

    public init(slot: Slot, values: Set<Int64>) {
        self.slot = slot
        self.values = values
    }

    /// As many as the kernel's spec holds (records.h, SENTINEL_CALL_FILTER_VALUES).
    public static let maximumValues = 8

    /// The filter for `call` that keeps every event on which one of `conditions` can be true
    /// (nil: none narrows it).
    public static func narrowing(_ call: CapturedCall, for conditions: [CompiledCondition]) -> CallFilter? {
        var merged: Requirements?
        for condition in conditions {
            guard let expression = condition.expression, !condition.observesItsOwnTypes else { return nil }
            guard let required = requirements(of: expression, on: call) else { continue }
            merged = merged.map { $0.either(required) } ?? required
        }
        guard let merged else { return nil }
        let order = (0..<call.arguments.count).map(Slot.argument) + [.result]
        return order.compactMap { slot in merged.values[slot].map { CallFilter(slot: slot, values: $0) } }
            .filter { $0.values.count <= maximumValues }
            .min { $0.values.count < $1.values.count }
    }

    /// What a condition requires of a call's values: for each slot it constrains, the values it
    /// can be true with (a slot absent: any value).
    struct Requirements {
        var values: [Slot: Set<Int64>] = [:]

        /// Both hold.
        func both(_ other: Requirements) -> Requirements {
            Requirements(values: values.merging(other.values) { $0.intersection($1) })
        }

        /// One or the other holds: a slot stays constrained only where both constrain it.
        func either(_ other: Requirements) -> Requirements {
            var kept: [Slot: Set<Int64>] = [:]
            for (slot, mine) in values {
                if let theirs = other.values[slot] { kept[slot] = mine.union(theirs) }
            }
            return Requirements(values: kept)
        }
    }

    /// nil when the expression can never be true of the call.
    static func requirements(of expression: Expression, on call: CapturedCall) -> Requirements? {
        switch expression {
        case .and(let left, let right):
            guard let left = requirements(of: left, on: call), let right = requirements(of: right, on: call) else { return nil }
            return left.both(right)
        case .or(let left, let right):
            switch (requirements(of: left, on: call), requirements(of: right, on: call)) {
            case (nil, nil): return nil
            case (let one?, nil), (nil, let one?): return one
            case (let left?, let right?): return left.either(right)
            }
        case .not, .reference: return Requirements()
        case .constant(let value): return value ? Requirements() : nil
        case .comparison(let comparison): return requirements(of: comparison, on: call)
        }
    }

    private static func requirements(of comparison: Comparison, on call: CapturedCall) -> Requirements? {
        let literals: [Literal]
        switch (comparison.op, comparison.operand) {
        case (.equal, .value(let literal)): literals = [literal]
        case (.in, .list(let items)): literals = items
        default: return Requirements()
        }
        // A transformed value (len(evt.arg.path) = 3) says nothing of the value itself.
        guard comparison.field.transformers.isEmpty else { return Requirements() }
        let name = comparison.field.name
        if name == "evt.type" {
            return literals.contains { EventType(name: $0.text) == call.eventType } ? Requirements() : nil
        }
        if name == "evt.rawres" {
            let values = literals.map { Int64($0.text) }
            return values.contains(nil) ? Requirements() : Requirements(values: [.result: Set(values.map { $0! })])
        }
        guard name.hasPrefix("evt.arg."), comparison.field.index == nil else { return Requirements() }
        // A field the call lacks is missing, and a comparison on it false.
        guard let index = call.argumentIndex(named: String(name.dropFirst("evt.arg.".count))) else { return nil }
        let values = literals.map { value(of: $0.text, as: call.arguments[index].kind) }
        return values.contains(nil) ? Requirements() : Requirements(values: [.argument(index): Set(values.map { $0! })])
    }

    /// A literal as `number(of:in:)` would read the argument; nil where a comparison on the
    /// argument is not one of its value (flags, paths).
    private static func value(of text: String, as kind: CapturedCall.Kind) -> Int64? {
        switch kind {
        case .flags, .path, .relativePath, .text, .address, .messageHeader: return nil
        case .choice(let names): return names.value(of: text).map { Int64(Int32(truncatingIfNeeded: $0)) }
        case .int, .fd, .descriptor, .id, .number:
            // A literal the argument cannot hold at its width narrows nothing: the engine judges it.
            guard let value = Int64(text) else { return nil }
            switch kind.width {
            case .int: return Int32(exactly: value).map(Int64.init)
            case .unsignedInt: return UInt32(exactly: value).map(Int64.init)
            case .long: return value
            }
        }
    }
}
