import SentinelJSON

/// A condition ready to run: a closure over the event, and the event types it can possibly match
/// (the rule index uses them so that an event meets only the rules that could fire on it).
public struct CompiledCondition {
    public let matches: (EventContext) -> Bool
    public let eventTypes: Set<EventType>
    /// The system-call numbers of the `syscall` events it can match: a sensor passes over the
    /// other calls without making events of them.
    public let systemCalls: SystemCallNumbers
    /// The expanded expression, for what the sensors gather and narrow by it (`CallFilter`).
    public internal(set) var expression: Expression?
    /// How many memo slots of the engine (SharedSubconditions) its matcher reads: the highest + 1.
    public internal(set) var memoSlots = 0

    /// The fields it reads, on either side of its comparisons.
    public var fieldNames: Set<String> { expression.map(ConditionCompiler.fieldNames(of:)) ?? [] }
    /// Events the engine must see to know the values of the fields it reads (`learnedFrom`).
    public var learnsFrom: Set<EventType> { FieldRegistry.learnedFrom(fieldNames) }
    /// Applied to types of a built-in rule's choosing (`observing`), which the expression need not
    /// name: a call it is false of still reaches the rule, so nothing is narrowed by it.
    public private(set) var observesItsOwnTypes = false

    /// The same test, applied to exactly `types`: for built-in rules that judge events of their own
    /// kinds, such as BoSC's system calls. It names no system-call numbers: such a rule gets its
    /// containers' calls by asking the sensor for them (see `KernelRequests`), not by number.
    public func observing(_ types: Set<EventType>) -> CompiledCondition {
        var condition = CompiledCondition(matches: matches, eventTypes: types, systemCalls: .none)
        condition.expression = expression
        condition.memoSlots = memoSlots
        condition.observesItsOwnTypes = true
        return condition
    }
}

/// Type-checks an expanded expression against the field registry and compiles it to closures.
/// Every error is collected; a condition with errors yields nil.
public enum ConditionCompiler {
    /// The event types a condition covers when it says nothing of `evt.type`. System calls and
    /// segments are left out: there are far too many, and only a rule that names them gets them.
    public static let defaultEventTypes = Set(EventType.allCases).subtracting(EventType.optIn)

    /// With `shared`, the subexpressions it counted more than once are judged once per event.
    public static func compile(_ written: Expression, diagnostics: Diagnostics, shared: SharedSubconditions? = nil) -> CompiledCondition? {
        var errors: [Diagnostic] = []
        let expression = withoutModifiers(written, &errors)
        var memoSlots = 0
        let matcher = build(expression, &errors, shared.map { ($0, { memoSlots = max(memoSlots, $0 + 1) }) })
        diagnostics.add(contentsOf: errors)
        guard errors.isEmpty, let matcher else { return nil }
        var condition = CompiledCondition(matches: matcher, eventTypes: eventTypes(of: expression), systemCalls: systemCalls(of: expression))
        condition.expression = expression
        condition.memoSlots = memoSlots
        return condition
    }

    /// The most values `oneof` takes: "exactly one holds" is a comparison per pair of values.
    static let maximumOneOfValues = 64

    /// `f op anyof (a, b)` as `f op a or f op b`, `allof` with `and`, `oneof` as "one holds and no
    /// other does", so that every later step sees plain comparisons. An empty list holds nothing.
    static func withoutModifiers(_ expression: Expression, _ errors: inout [Diagnostic]) -> Expression {
        switch expression {
        case .and(let left, let right): return .and(withoutModifiers(left, &errors), withoutModifiers(right, &errors))
        case .or(let left, let right): return .or(withoutModifiers(left, &errors), withoutModifiers(right, &errors))
        case .not(let inner): return .not(withoutModifiers(inner, &errors))
        case .reference, .constant: return expression
        case .comparison(let comparison):
            guard let modifier = comparison.modifier, case .list(let items) = comparison.operand else { return expression }
            let each = items.map { Expression.comparison(Comparison(field: comparison.field, op: comparison.op, operatorPosition: comparison.operatorPosition,
                                                                    operand: .value($0))) }
            func chain(_ parts: [Expression], _ join: (Expression, Expression) -> Expression) -> Expression {
                parts.dropFirst().reduce(parts.first ?? .constant(false), join)
            }
            switch modifier {
            case .anyof: return chain(each, Expression.or)
            case .allof: return chain(each, Expression.and)
            case .oneof:
                guard items.count <= maximumOneOfValues else {
                    errors.append(ConditionError("oneof takes at most \(maximumOneOfValues) values; this list has \(items.count)", at: comparison.operatorPosition).diagnostic)
                    return .constant(false)
                }
                return chain(each.indices.map { index in
                    let others = each.indices.filter { $0 != index }.map { each[$0] }
                    return others.isEmpty ? each[index] : .and(each[index], .not(chain(others, Expression.or)))
                }, Expression.or)
            }
        }
    }

    /// The values an expression compares any of `fields` with (lists already expanded).
    static func literals(comparedWith fields: Set<String>, in expression: Expression) -> Set<String> {
        switch expression {
        case .and(let left, let right), .or(let left, let right):
            return literals(comparedWith: fields, in: left).union(literals(comparedWith: fields, in: right))
        case .not(let inner): return literals(comparedWith: fields, in: inner)
        case .reference, .constant: return []
        case .comparison(let comparison):
            guard fields.contains(comparison.field.name) else { return [] }
            switch comparison.operand {
            case .value(let literal): return [literal.text]
            case .list(let items): return Set(items.map(\.text))
            case .none, .field: return []
            }
        }
    }

    /// The fields an expression reads.
    static func fieldNames(of expression: Expression) -> Set<String> {
        switch expression {
        case .and(let left, let right), .or(let left, let right): return fieldNames(of: left).union(fieldNames(of: right))
        case .not(let inner): return fieldNames(of: inner)
        case .reference, .constant: return []
        case .comparison(let comparison):
            if case .field(let other) = comparison.operand { return [comparison.field.name, other.name] }
            return [comparison.field.name]
        }
    }

    // MARK: - Event types

    /// The event types on which `expression` can be true; opt-in types only if it names them.
    public static func eventTypes(of expression: Expression) -> Set<EventType> {
        possibleEventTypes(of: expression).intersection(defaultEventTypes.union(namedOptInTypes(expression)))
    }

    private static let everyType = Set(EventType.allCases)

    /// A comparison is false when its field is missing, so it is true only on the types that carry
    /// the field; `not` can be true anywhere.
    private static func possibleEventTypes(of expression: Expression) -> Set<EventType> {
        switch expression {
        case .and(let left, let right): return possibleEventTypes(of: left).intersection(possibleEventTypes(of: right))
        case .or(let left, let right): return possibleEventTypes(of: left).union(possibleEventTypes(of: right))
        case .not(.comparison(let comparison)) where comparison.field.name == "evt.type":
            return everyType.subtracting(namedEventTypes(comparison) ?? [])
        case .not, .reference: return everyType
        case .constant(let value): return value ? everyType : []
        case .comparison(let comparison):
            if comparison.field.name == "evt.type", let named = namedEventTypes(comparison) {
                switch comparison.op {
                case .equal, .in: return named
                case .notEqual: return everyType.subtracting(named)
                default: break
                }
            }
            return FieldRegistry.field(named: comparison.field.name)?.eventTypes ?? everyType
        }
    }

    /// The opt-in types the expression asks for in so many words: `evt.type = syscall`, or a field
    /// only they carry (`syscall.nr`, `tcp.flags`).
    private static func namedOptInTypes(_ expression: Expression) -> Set<EventType> {
        switch expression {
        case .and(let left, let right), .or(let left, let right): return namedOptInTypes(left).union(namedOptInTypes(right))
        case .not(let inner): return namedOptInTypes(inner)
        case .reference, .constant: return []
        case .comparison(let comparison):
            if comparison.field.name == "evt.type" {
                guard comparison.op == .equal || comparison.op == .in else { return [] }
                return (namedEventTypes(comparison) ?? []).intersection(EventType.optIn)
            }
            guard let types = FieldRegistry.field(named: comparison.field.name)?.eventTypes, types.isSubset(of: EventType.optIn) else { return [] }
            return types
        }
    }

    /// The system-call numbers on which `expression` can be true of a `syscall` event: those that
    /// `syscall.nr =` or `in` names, narrowed by `and`, widened by `or`; every number otherwise.
    public static func systemCalls(of expression: Expression) -> SystemCallNumbers {
        eventTypes(of: expression).contains(.syscall) ? possibleSystemCalls(of: expression) : .none
    }

    private static func possibleSystemCalls(of expression: Expression) -> SystemCallNumbers {
        guard possibleEventTypes(of: expression).contains(.syscall) else { return .none }
        switch expression {
        case .and(let left, let right): return possibleSystemCalls(of: left).intersection(possibleSystemCalls(of: right))
        case .or(let left, let right): return possibleSystemCalls(of: left).union(possibleSystemCalls(of: right))
        case .comparison(let comparison) where comparison.field.name == "syscall.nr":
            let literals: [Literal]
            switch (comparison.op, comparison.operand) {
            case (.equal, .value(let literal)): literals = [literal]
            case (.in, .list(let items)): literals = items
            default: return .all
            }
            let numbers = literals.compactMap { Int64($0.text) }
            return numbers.count == literals.count ? SystemCallNumbers(numbers) : .all
        case .not, .reference, .constant, .comparison: return .all
        }
    }

    private static func namedEventTypes(_ comparison: Comparison) -> Set<EventType>? {
        switch comparison.operand {
        case .value(let literal): return EventType(name: literal.text).map { [$0] }
        case .list(let items): return Set(items.compactMap { EventType(name: $0.text) })
        case .none, .field: return nil
        }
    }

    // MARK: - Building closures

    typealias Matcher = (EventContext) -> Bool

    /// The shared subconditions, and what to tell of each slot a matcher uses.
    typealias Sharing = (subconditions: SharedSubconditions, used: (Int) -> Void)

    private static func build(_ expression: Expression, _ errors: inout [Diagnostic], _ sharing: Sharing?) -> Matcher? {
        built(expression, &errors, sharing)?.matcher
    }

    /// A matcher and, with sharing, its subexpression's id (SharedSubconditions), made from its
    /// parts' ids as they are built. A struct, not a tuple: a closure kept in a generic container
    /// is called through a reabstraction thunk, which showed in profiles.
    private struct Built {
        let matcher: Matcher
        let key: SharedSubconditions.Key
        var id = 0
    }

    private static func built(_ expression: Expression, _ errors: inout [Diagnostic], _ sharing: Sharing?) -> Built? {
        guard var node = buildNode(expression, &errors, sharing) else { return nil }
        guard let sharing else { return node }
        node.id = sharing.subconditions.id(of: node.key)
        guard let slot = sharing.subconditions.slot(for: node.id) else { return node }
        sharing.used(slot)
        let inner = node.matcher
        let memoized: Matcher = { context in
            guard let memo = context.memo else { return inner(context) }
            let cell = memo + slot
            if cell.pointee.number == context.number { return cell.pointee.value }
            let value = inner(context)
            cell.pointee = MemoSlot(number: context.number, value: value)
            return value
        }
        return Built(matcher: memoized, key: node.key, id: node.id)
    }

    private static func buildNode(_ expression: Expression, _ errors: inout [Diagnostic], _ sharing: Sharing?) -> Built? {
        func leaf(_ matcher: @escaping Matcher) -> Built {
            Built(matcher: matcher, key: sharing == nil ? .leaf("") : .leaf(SharedSubconditions.leafText(expression)))
        }
        switch expression {
        case .and(let left, let right):
            let lhs = built(left, &errors, sharing), rhs = built(right, &errors, sharing)
            guard let lhs, let rhs else { return nil }
            let (l, r) = (lhs.matcher, rhs.matcher)
            return Built(matcher: { l($0) && r($0) }, key: .and(lhs.id, rhs.id))
        case .or(let left, let right):
            let lhs = built(left, &errors, sharing), rhs = built(right, &errors, sharing)
            guard let lhs, let rhs else { return nil }
            let (l, r) = (lhs.matcher, rhs.matcher)
            return Built(matcher: { l($0) || r($0) }, key: .or(lhs.id, rhs.id))
        case .not(let inner):
            guard let inner = built(inner, &errors, sharing) else { return nil }
            let matcher = inner.matcher
            return Built(matcher: { !matcher($0) }, key: .not(inner.id))
        case .constant(let value):
            return leaf({ _ in value })
        case .reference(let name, let position):
            errors.append(position.diagnostic("unknown macro \"\(name)\""))
            return nil
        case .comparison(let comparison):
            do {
                let matcher = try compileComparison(comparison)
                return leaf(matcher)
            } catch {
                errors.append(contentsOf: error.diagnostics)
                return nil
            }
        }
    }

    private static func compileComparison(_ comparison: Comparison) throws(ConditionError) -> Matcher {
        let (accessor, field) = try resolve(comparison.field)
        let op = comparison.op
        let operatorPosition = comparison.operatorPosition

        if op == .exists {
            return existenceMatcher(accessor)
        }
        if case .field(let other) = comparison.operand {
            let (otherAccessor, otherField) = try resolve(other)
            return try fieldMatcher(op, accessor, field, otherAccessor, otherField, at: operatorPosition)
        }
        if field.name == "evt.type" {
            return try eventTypeMatcher(op, comparison.operand, at: operatorPosition)
        }
        switch accessor {
        case .string(let read):
            let predicate = try stringPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in read(context).map(predicate) ?? false }
        case .anyString(let any, _):
            let predicate = try stringPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in any(context, predicate) }
        case .number(let read):
            let predicate = try numberPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in read(context).map(predicate) ?? false }
        case .anyNumber(let any, _):
            let predicate = try numberPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in any(context, predicate) }
        case .bool(let read):
            let predicate = try boolPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in read(context).map(predicate) ?? false }
        case .ip(let read):
            let predicate = try addressPredicate(op, comparison.operand, field: field, at: operatorPosition)
            return { context in read(context).map(predicate) ?? false }
        case .eitherEnd(let ends):
            let predicate = try addressPredicate(op == .notEqual ? .equal : op, comparison.operand, field: field, at: operatorPosition)
            return eitherMatcher(ends, negated: op == .notEqual, predicate)
        case .eitherPort(let ends):
            let predicate = try numberPredicate(op == .notEqual ? .equal : op, comparison.operand, field: field, at: operatorPosition)
            return eitherMatcher(ends, negated: op == .notEqual, predicate)
        }
    }

    /// Either end holds; negated (for `!=`), neither does. False without a socket at all.
    private static func eitherMatcher<Value>(_ ends: @escaping (EventContext) -> (local: Value?, remote: Value?), negated: Bool,
                                             _ predicate: @escaping (Value) -> Bool) -> Matcher {
        { context in
            let (local, remote) = ends(context)
            guard local != nil || remote != nil else { return false }
            let either = local.map(predicate) == true || remote.map(predicate) == true
            return either != negated
        }
    }

    /// A field compared with another of the same event (`val(...)`): both read per event.
    private static func fieldMatcher(_ op: ComparisonOperator, _ left: FieldAccessor, _ leftField: FieldDefinition,
                                     _ right: FieldAccessor, _ rightField: FieldDefinition, at position: ConditionPosition) throws(ConditionError) -> Matcher {
        func refuse() -> ConditionError {
            ConditionError("'\(op.rawValue) val(...)' does not compare \(leftField.name), a \(leftField.type.rawValue) field, with \(rightField.name), a \(rightField.type.rawValue) field",
                           at: position)
        }
        switch (left, right) {
        case (.string(let read), .string(let other)):
            let test: (String, String) -> Bool
            switch op {
            case .equal: test = { $0 == $1 }
            case .notEqual: test = { $0 != $1 }
            case .contains: test = { ByteNeedle($1, caseInsensitive: false).isFound(in: $0) }
            case .startswith: test = { $0.utf8.starts(with: $1.utf8) }
            case .endswith: test = { $0.utf8.count >= $1.utf8.count && $0.utf8.suffix($1.utf8.count).elementsEqual($1.utf8) }
            default: throw refuse()
            }
            return { context in
                guard let value = read(context), let expected = other(context) else { return false }
                return test(value, expected)
            }
        case (.number(let read), .number(let other)):
            let test: (Int64, Int64) -> Bool
            switch op {
            case .equal: test = (==)
            case .notEqual: test = (!=)
            case .less: test = (<)
            case .lessOrEqual: test = (<=)
            case .greater: test = (>)
            case .greaterOrEqual: test = (>=)
            default: throw refuse()
            }
            return { context in
                guard let value = read(context), let expected = other(context) else { return false }
                return test(value, expected)
            }
        case (.ip(let read), .ip(let other)) where op == .equal || op == .notEqual:
            let equal = op == .equal
            return { context in
                guard let value = read(context), let expected = other(context) else { return false }
                return (value == expected) == equal
            }
        default:
            throw refuse()
        }
    }

    private static func resolve(_ reference: FieldReference) throws(ConditionError) -> (accessor: FieldAccessor, field: FieldDefinition) {
        guard let registered = FieldRegistry.field(named: reference.name) else {
            throw ConditionError("unknown field \"\(reference.name)\"" + FieldRegistry.hint(forUnknown: reference.name), at: reference.position)
        }
        let argued: FieldAccessor
        switch (registered.argument, reference.key) {
        case (.key, nil) where reference.index != nil:
            // A number in brackets reads as an index; evt.arg[N] takes it as its key.
            argued = registered.accessor(key: String(reference.index!))!
        case (.optionalIndex, nil) where reference.index == 0:
            let bracket = ConditionPosition(origin: reference.position.origin, offset: reference.position.offset + reference.name.utf8.count)
            throw ConditionError("the index must be between 1 and 1000", at: bracket)
        case (.key(let placeholder), nil):
            throw ConditionError("field \"\(registered.name)\" needs a [\(placeholder)]", at: reference.position)
        case (.key, let key?), (.optionalKey, let key?):
            argued = registered.accessor(key: key)!
        case (_, _?):
            throw ConditionError("field \"\(registered.name)\" takes \(registered.argument == .none ? "no [argument]" : "a number in [ ]"), not a key", at: reference.position)
        case (.none, nil) where reference.index != nil:
            throw ConditionError("field \"\(registered.name)\" takes no [index]", at: reference.position)
        case (.optionalKey(let placeholder), nil) where reference.index != nil:
            throw ConditionError("field \"\(registered.name)\" takes a [\(placeholder)], not a number", at: reference.position)
        default:
            argued = registered.accessor(index: reference.index)
        }
        return try transform(argued, of: registered, by: reference)
    }

    /// The accessor with the reference's transformers applied, and the field as the comparison
    /// sees it (its name written with them, its type what they give).
    private static func transform(_ accessor: FieldAccessor, of field: FieldDefinition,
                                  by reference: FieldReference) throws(ConditionError) -> (accessor: FieldAccessor, field: FieldDefinition) {
        guard !reference.transformers.isEmpty else { return (accessor, field) }
        var accessor = accessor, type = field.type
        var subject = FieldReference(name: reference.name, index: reference.index, key: reference.key, position: reference.position).text
        for transformer in reference.transformers {
            guard let next = transformer.apply(to: accessor, of: type) else {
                let what = type == .string ? "a field of several values" : type == .ip ? "an ip" : "a \(type.rawValue)"
                throw ConditionError("\(transformer.rawValue)() applies to text of one value, and \(subject) is \(what)", at: reference.position)
            }
            (accessor, type) = next
            subject = "\(transformer.rawValue)(\(subject))"
        }
        // For the predicates' messages, which name the field and its type; never read.
        let seen = FieldDefinition(name: reference.text, type: type, description: field.description, argument: .none,
                                   eventTypes: field.eventTypes) { _ in .string { _ in nil } }
        return (accessor, seen)
    }

    /// `evt.type` compares the enum, not its name: the most common check of all stays an integer test.
    private static func eventTypeMatcher(_ op: ComparisonOperator, _ operand: Operand, at position: ConditionPosition) throws(ConditionError) -> Matcher {
        try checkEventTypeNames(operand)
        switch op {
        case .equal, .notEqual:
            let expected = EventType(name: try singleValue(operand, op, at: position).text)!
            return op == .equal ? { $0.event.type == expected } : { $0.event.type != expected }
        case .in:
            var members = [Bool](repeating: false, count: EventType.allCases.count)
            for literal in try listItems(operand, at: position) { members[Int(EventType(name: literal.text)!.rawValue)] = true }
            // Captured by value: a captured var is boxed and checked for exclusive access on every read.
            return { [members] in members[Int($0.event.type.rawValue)] }
        default:
            let predicate = try stringPredicate(op, operand, field: FieldRegistry.field(named: "evt.type")!, at: position)
            return { predicate($0.event.type.name) }
        }
    }

    private static func existenceMatcher(_ accessor: FieldAccessor) -> Matcher {
        switch accessor {
        case .string(let read): return { read($0) != nil }
        case .number(let read): return { read($0) != nil }
        case .bool(let read): return { read($0) != nil }
        case .ip(let read): return { read($0) != nil }
        case .anyString(let any, _): return { any($0) { _ in true } }
        case .anyNumber(let any, _): return { any($0) { _ in true } }
        case .eitherEnd(let ends): return { ends($0).local != nil || ends($0).remote != nil }
        case .eitherPort(let ends): return { ends($0).local != nil || ends($0).remote != nil }
        }
    }

    // MARK: - Predicates per type

    private static func stringPredicate(_ op: ComparisonOperator, _ operand: Operand, field: FieldDefinition,
                                        at position: ConditionPosition) throws(ConditionError) -> (String) -> Bool {
        switch op {
        case .in, .intersects:
            let items = Set(try listItems(operand, at: position).map(\.text))
            return { items.contains($0) }
        case .pmatch:
            let paths = try listItems(operand, at: position).map { PathPrefix($0.text) }
            return { value in paths.contains { $0.holds(value) } }
        case .equal:
            let expected = try singleValue(operand, op, at: position).text
            return { $0 == expected }
        case .notEqual:
            let expected = try singleValue(operand, op, at: position).text
            return { $0 != expected }
        case .contains:
            let needle = ByteNeedle(try singleValue(operand, op, at: position).text, caseInsensitive: false)
            return { needle.isFound(in: $0) }
        case .icontains:
            let needle = ByteNeedle(try singleValue(operand, op, at: position).text, caseInsensitive: true)
            return { needle.isFound(in: $0) }
        case .startswith:
            let prefix = try singleValue(operand, op, at: position).text
            return { $0.utf8.starts(with: prefix.utf8) }
        case .endswith:
            let suffix = Array(try singleValue(operand, op, at: position).text.utf8)
            return { $0.utf8.count >= suffix.count && $0.utf8.suffix(suffix.count).elementsEqual(suffix) }
        case .glob, .iglob:
            let pattern = GlobPattern(try singleValue(operand, op, at: position).text, caseInsensitive: op == .iglob)
            return { pattern.matches($0) }
        case .regex:
            let literal = try singleValue(operand, op, at: position)
            do {
                let pattern = try RegexPattern(literal.text)
                return { pattern.matches($0) }
            } catch {
                throw ConditionError(error.message, at: literal.position)
            }
        case .bcontains:
            let needle = ByteNeedle(bytes: try hexBytes(try singleValue(operand, op, at: position)))
            return { needle.isFound(in: $0) }
        case .bstartswith:
            let prefix = try hexBytes(try singleValue(operand, op, at: position))
            return { $0.utf8.starts(with: prefix) }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            throw mismatch(op, field, at: position)
        case .exists:
            return { _ in true }
        }
    }

    private static func numberPredicate(_ op: ComparisonOperator, _ operand: Operand, field: FieldDefinition,
                                        at position: ConditionPosition) throws(ConditionError) -> (Int64) -> Bool {
        func number(_ literal: Literal) throws(ConditionError) -> Int64 {
            if let value = Int64(literal.text) { return value }
            throw ConditionError("\"\(literal.text)\" is not a number, and \(field.name) is a \(field.type.rawValue) field", at: literal.position)
        }
        switch op {
        case .in, .intersects:
            var items = Set<Int64>()
            for literal in try listItems(operand, at: position) { items.insert(try number(literal)) }
            return { [items] in items.contains($0) }
        case .equal:
            let expected = try number(try singleValue(operand, op, at: position))
            return { $0 == expected }
        case .notEqual:
            let expected = try number(try singleValue(operand, op, at: position))
            return { $0 != expected }
        case .less:
            let bound = try number(try singleValue(operand, op, at: position))
            return { $0 < bound }
        case .lessOrEqual:
            let bound = try number(try singleValue(operand, op, at: position))
            return { $0 <= bound }
        case .greater:
            let bound = try number(try singleValue(operand, op, at: position))
            return { $0 > bound }
        case .greaterOrEqual:
            let bound = try number(try singleValue(operand, op, at: position))
            return { $0 >= bound }
        case .contains, .icontains, .bcontains, .startswith, .bstartswith, .endswith, .glob, .iglob, .regex, .pmatch:
            throw mismatch(op, field, at: position)
        case .exists:
            return { _ in true }
        }
    }

    private static func boolPredicate(_ op: ComparisonOperator, _ operand: Operand, field: FieldDefinition,
                                      at position: ConditionPosition) throws(ConditionError) -> (Bool) -> Bool {
        guard op == .equal || op == .notEqual else { throw mismatch(op, field, at: position) }
        let literal = try singleValue(operand, op, at: position)
        guard let expected = ["true": true, "false": false][literal.text] else {
            throw ConditionError("\"\(literal.text)\" is not true or false, and \(field.name) is a bool field", at: literal.position)
        }
        return op == .equal ? { $0 == expected } : { $0 != expected }
    }

    private static func addressPredicate(_ op: ComparisonOperator, _ operand: Operand, field: FieldDefinition,
                                         at position: ConditionPosition) throws(ConditionError) -> (IPAddress) -> Bool {
        func network(_ literal: Literal) throws(ConditionError) -> IPNetwork {
            if let network = IPNetwork(literal.text) { return network }
            throw ConditionError("\"\(literal.text)\" is not an IP address or CIDR network, and \(field.name) is an ip field", at: literal.position)
        }
        switch op {
        case .equal:
            let expected = try network(try singleValue(operand, op, at: position))
            return { expected.contains($0) }
        case .notEqual:
            let expected = try network(try singleValue(operand, op, at: position))
            return { !expected.contains($0) }
        case .in, .intersects:
            var networks: [IPNetwork] = []
            for literal in try listItems(operand, at: position) { networks.append(try network(literal)) }
            return { [networks] address in networks.contains { $0.contains(address) } }
        default:
            throw mismatch(op, field, at: position)
        }
    }

    // MARK: - Operands

    /// `bcontains` and `bstartswith` take bytes in hex, two digits each: 7f454c46.
    private static func hexBytes(_ literal: Literal) throws(ConditionError) -> [UInt8] {
        let digits = Array(literal.text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < digits.count, let high = hexDigit(digits[index]), let low = hexDigit(digits[index + 1]) {
            bytes.append(high << 4 | low)
            index += 2
        }
        guard index == digits.count, !digits.isEmpty else {
            throw ConditionError("\"\(literal.text)\" is not bytes in hex (two digits a byte, as 7f454c46)", at: literal.position)
        }
        return bytes
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func singleValue(_ operand: Operand, _ op: ComparisonOperator, at position: ConditionPosition) throws(ConditionError) -> Literal {
        guard case .value(let literal) = operand else {
            throw ConditionError("'\(op.rawValue)' takes one value, not a list", at: position)
        }
        return literal
    }

    private static func listItems(_ operand: Operand, at position: ConditionPosition) throws(ConditionError) -> [Literal] {
        guard case .list(let items) = operand else { throw ConditionError("this operator takes a list in parentheses", at: position) }
        return items
    }

    private static func checkEventTypeNames(_ operand: Operand) throws(ConditionError) {
        let literals: [Literal]
        switch operand {
        case .value(let literal): literals = [literal]
        case .list(let items): literals = items
        case .none, .field: literals = []
        }
        let unknown = literals.filter { EventType(name: $0.text) == nil }.map { literal in
            var message = "unknown event type \"\(literal.text)\""
            if let suggestion = closestMatch(to: literal.text, among: EventType.allCases.map(\.name)) {
                message += " (did you mean \"\(suggestion)\"?)"
            }
            return ConditionError(message, at: literal.position)
        }
        guard var first = unknown.first else { return }
        first.others = Array(unknown.dropFirst())
        throw first
    }

    private static func mismatch(_ op: ComparisonOperator, _ field: FieldDefinition, at position: ConditionPosition) -> ConditionError {
        ConditionError("operator '\(op.rawValue)' does not apply to \(field.name), a \(field.type.rawValue) field", at: position)
    }
}
