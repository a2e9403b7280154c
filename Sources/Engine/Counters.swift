import Synchronization

/// Counters that one thread writes and any thread may read (a `/metrics` request): each is a
/// relaxed atomic its writer loads and stores without a locked read-modify-write, so that counting
/// costs what a plain increment does. Only the one thread that owns them may call `add`.
public final class SingleWriterCounters: @unchecked Sendable {
    public let count: Int
    private let storage: UnsafeMutablePointer<Atomic<UInt64>>

    public init(count: Int) {
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        for index in 0..<count { (storage + index).initialize(to: Atomic(0)) }
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    @inline(__always)
    public func add(_ index: Int, _ amount: UInt64 = 1) {
        let counter = storage + index
        counter.pointee.store(counter.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Sets a gauge (a table's size); the one writer only, as `add`.
    @inline(__always)
    public func set(_ index: Int, _ value: UInt64) {
        (storage + index).pointee.store(value, ordering: .relaxed)
    }

    public subscript(index: Int) -> UInt64 { (storage + index).pointee.load(ordering: .relaxed) }
}

/// One count a part of sentinel keeps, for `/metrics` as `sentinel_<name>` with its labels: the
/// records of one kind the kernel produced, a rule's profiles in training.
public struct MetricReading: Sendable {
    public enum Kind: Sendable { case counter, gauge }

    public let name: String
    public let kind: Kind
    public let help: String
    public let labels: [Label]
    public let value: UInt64

    public struct Label: Sendable {
        public let name: String
        public let value: String
    }

    public init(_ name: String, _ help: String, kind: Kind = .counter, labels: [(String, String)] = [], _ value: UInt64) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels.map { Label(name: $0.0, value: $0.1) }
        self.value = value
    }
}
