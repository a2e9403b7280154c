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
    var lists: [ListEntry] = []
    var macros: [MacroEntry] = []
    var rules: [RuleEntry] = []
    /// Macros named but dropped for an error reported where they are: a use of one is not
    /// reported again as an unknown macro.
    var brokenMacros: Set<String> = []
}
