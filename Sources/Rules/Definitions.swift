import Engine
import SentinelJSON

/// A list as a file defines it: items that may name other lists.
struct ListDefinition {
    let name: String
    var items: [Literal]
    let cursor: JSONCursor
}

struct MacroDefinition {
    let name: String
    var condition: Expression
    let cursor: JSONCursor
}

/// A rule exception in Falco's form: fields, comparison operators, and tuples of values; a tuple
/// that matches the event cancels the rule for it.
struct ExceptionDefinition {
    let name: String
    let fields: [FieldReference]
    let operators: [(ComparisonOperator, ConditionPosition)]
    /// One tuple per exception value: an operand for each field.
    let values: [[Operand]]
}

/// What one rule entry says. A new rule gives at least condition, output and priority; an entry
/// that changes an earlier rule gives only what it appends or replaces.
struct RuleFields {
    var description: String?
    var condition: Expression?
    var output: ConditionOrigin?
    var priority: Priority?
    var tags: [String]?
    var enabled: Bool?
    var exceptions: [ExceptionDefinition]?
    /// The built-in rule type (`"type": "threshold"`); nil for a signature rule.
    var builtinType: String?
    var params: JSONCursor?
}

/// How an entry relates to an earlier definition of the same name.
enum Change {
    /// A new definition; the name must be new.
    case define
    /// Changes to an earlier definition: keys whose values are appended, keys whose values replace.
    case modify(append: Set<String>, replace: Set<String>)
}

struct RuleEntry {
    let name: String
    let cursor: JSONCursor
    let change: Change
    let fields: RuleFields
}

struct ListEntry {
    let definition: ListDefinition
    let change: Change
}

struct MacroEntry {
    let definition: MacroDefinition
    let change: Change
}

/// Everything one file says, in order, before it is merged with the files before it.
struct RuleFileContents {
    /// Written by `sentinel rules import` (it has an `imported` key): its lists and macros are
    /// Falco's, kept apart from sentinel's own.
    var scope = NameScope.sentinel
    var lists: [ListEntry] = []
    var macros: [MacroEntry] = []
    var rules: [RuleEntry] = []
    /// Macros named but dropped for an error reported where they are: a use of one is not
    /// reported again as an unknown macro.
    var brokenMacros: Set<String> = []
}

/// Which set of names a file's lists and macros belong to. Falco's rules and sentinel's stock rules
/// both define `container`, `spawned_process`, `open_write`, `outbound`..., not always alike
/// (Falco's `outbound` leaves out private networks): loaded together, each set keeps its own.
/// A rule, a macro or a list item looks a name up in its own set first, then in the other, so
/// that a rule of your own can still use a macro only the imported rules define.
enum NameScope: Hashable {
    case sentinel, imported

    var other: NameScope { self == .sentinel ? .imported : .sentinel }
}

struct ScopedName: Hashable {
    let scope: NameScope
    let name: String
}

extension Dictionary where Key == ScopedName {
    /// The definition `name` means to something in `scope`: its own set's, else the other's.
    func lookUp(_ name: String, from scope: NameScope) -> (key: ScopedName, value: Value)? {
        for key in [ScopedName(scope: scope, name: name), ScopedName(scope: scope.other, name: name)] {
            if let value = self[key] { return (key, value) }
        }
        return nil
    }
}
