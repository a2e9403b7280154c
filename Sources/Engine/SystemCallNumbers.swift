/// A set of system-call numbers, as a fixed bit set: the kernel gets a copy and sends only the
/// calls some rule could care about, so that calls no rule names never leave it.
public struct SystemCallNumbers: Sendable, Equatable {
    /// x86_64 numbers stay below 512 (the highest today is in the 460s); numbers at or above this
    /// bound are kept only by `all`.
    public static let bound = 1024
    /// The set as bits, 64 numbers per word: the kernel's copy is made from these.
    public private(set) var words: [UInt64]
    /// True when every number is in, including those at or above `bound`.
    public private(set) var isAll: Bool

    public static let none = SystemCallNumbers(words: Array(repeating: 0, count: bound / 64), isAll: false)
    public static let all = SystemCallNumbers(words: Array(repeating: .max, count: bound / 64), isAll: true)

    private init(words: [UInt64], isAll: Bool) {
        self.words = words
        self.isAll = isAll
    }

    /// The numbers given; those outside 0..<bound can match no call that reaches the rules.
    public init<Numbers: Sequence<Int64>>(_ numbers: Numbers) {
        self = .none
        for number in numbers where number >= 0 && number < Self.bound {
            words[Int(number) / 64] |= 1 << UInt64(number % 64)
        }
    }

    @inline(__always)
    public func contains(_ number: Int64) -> Bool {
        guard number >= 0 && number < Self.bound else { return isAll }
        return words[Int(number) >> 6] & (1 << UInt64(number & 63)) != 0
    }

    public var isEmpty: Bool { !isAll && words.allSatisfy { $0 == 0 } }

    public func union(_ other: SystemCallNumbers) -> SystemCallNumbers {
        SystemCallNumbers(words: zip(words, other.words).map { $0 | $1 }, isAll: isAll || other.isAll)
    }

    public func intersection(_ other: SystemCallNumbers) -> SystemCallNumbers {
        SystemCallNumbers(words: zip(words, other.words).map { $0 & $1 }, isAll: isAll && other.isAll)
    }
}
