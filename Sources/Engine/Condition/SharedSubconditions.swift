import SentinelJSON

/// Subconditions that several rules share, judged once per event instead of once per rule.
///
/// Falco's rules open with the same macros (`spawned_process and container`, `open_read`): with
/// its 25 stable rules beside the stock ones, an exec meets two dozen rules that each test the
/// same event type, the same `container.id != host`, the same shell list. Before the rules are
/// compiled, every subexpression of every rule is counted by its structure; one that occurs twice
/// or more gets a slot, and its compiled test keeps its last answer there with the number of the
/// event it answered for. The slots live in the engine (`EventContext.memo`), one array per
/// engine, so engines never share answers; a condition evaluated outside an engine has no memo
/// and judges every time.
public final class SharedSubconditions {
    /// A subexpression by what it is made of: an operator over its parts' ids, or a leaf's text.
    /// Equal keys, equal answers on any event. Each distinct one gets an id, so that the key of a
    /// node is built from its parts' ids, never from their whole text.
    enum Key: Hashable {
        case and(Int, Int), or(Int, Int), not(Int), leaf(String)
    }

    private var ids: [Key: Int] = [:]
    private var uses: [Int] = []
    private var slots: [Int: Int] = [:]

    public init() {}

    /// Counts the subexpressions of a rule's whole condition (lists and macros expanded).
    public func count(_ expression: Expression) {
        var ignored: [Diagnostic] = []
        _ = countIDs(ConditionCompiler.withoutModifiers(expression, &ignored))
    }

    private func countIDs(_ expression: Expression) -> Int {
        let key: Key
        switch expression {
        case .and(let left, let right): key = .and(countIDs(left), countIDs(right))
        case .or(let left, let right): key = .or(countIDs(left), countIDs(right))
        case .not(let inner): key = .not(countIDs(inner))
        default: key = .leaf(Self.leafText(expression))
        }
        let id = self.id(of: key)
        uses[id] += 1
        return id
    }

    func id(of key: Key) -> Int {
        if let id = ids[key] { return id }
        let id = uses.count
        ids[key] = id
        uses.append(0)
        return id
    }

    /// The slot of a subexpression that occurs more than once.
    func slot(for id: Int) -> Int? {
        guard id < uses.count, uses[id] >= 2 else { return nil }
        if let slot = slots[id] { return slot }
        let slot = slots.count
        slots[id] = slot
        return slot
    }

    /// A leaf's text: a comparison as written, with quoting kept, or a constant.
    static func leafText(_ expression: Expression) -> String {
        switch expression {
        case .constant(let value): return value ? "true" : "false"
        case .reference(let name, _): return "macro:" + name
        case .comparison(let comparison):
            func literal(_ literal: Literal) -> String { (literal.quoted ? "'" : "") + literal.text }
            let operand: String
            switch comparison.operand {
            case .none: operand = ""
            case .value(let value): operand = literal(value)
            case .list(let items): operand = "(" + items.map(literal).joined(separator: "\u{1}") + ")"
            case .field(let other): operand = "val(" + other.text + ")"
            }
            return comparison.field.text + " " + comparison.op.rawValue + " " + operand
        case .and, .or, .not: return ""
        }
    }
}

/// A shared subcondition's last answer, and the number of the event it was for (0: none yet).
public struct MemoSlot {
    var number: UInt64 = 0
    var value = false
}
