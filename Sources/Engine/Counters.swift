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

    public subscript(index: Int) -> UInt64 { (storage + index).pointee.load(ordering: .relaxed) }
}
