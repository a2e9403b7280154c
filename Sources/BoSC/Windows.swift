/// The last calls of one thread (or one container) and the hash of their bag.
struct Window {
    /// System-call numbers, a ring of `size` entries starting at `next` once full.
    var calls = InlineArray<16, UInt16>(repeating: 0)
    var next = 0
    var filled = 0
    var hash: UInt64 = 0
    /// Calls since the last one training never saw (capped): the window holds such a call while
    /// this is below its size.
    var sinceUnseen = Int(Int16.max)

    /// Slides the window by one call; true once it holds a whole window, whose bag is `hash`.
    @inline(__always)
    mutating func slide(_ call: UInt16, size: Int, slots: UnsafeBufferPointer<UInt16>, values: UnsafeBufferPointer<UInt64>) -> Bool {
        if filled == size {
            hash &-= values[Int(slots[Int(calls[next])])]
        } else {
            filled += 1
        }
        calls[next] = call
        hash &+= values[Int(slots[Int(call)])]
        next = next + 1 == size ? 0 : next + 1
        return filled == size
    }

    /// The calls in the window, sorted: a bag written out.
    func bag() -> [UInt16] {
        (0..<filled).map { calls[$0] }.sorted()
    }
}

/// The windows of every thread (or container) of a stream of calls, found by key. A thread's
/// window is forgotten when it exits; beyond `capacity` windows, all are forgotten.
struct WindowTable {
    static let capacity = 65_536

    private var indexByKey: [Int64: Int] = [:]
    var windows: [Window] = []
    private var free: [Int] = []
    /// Calls of one thread come in runs: the last key found saves most lookups.
    private var lastKey = Int64.min
    private var lastIndex = -1

    @inline(__always)
    mutating func index(of key: Int64) -> Int {
        if key == lastKey { return lastIndex }
        let index: Int
        if let found = indexByKey[key] {
            index = found
        } else {
            if indexByKey.count >= Self.capacity { reset() }
            if let reused = free.popLast() {
                windows[reused] = Window()
                index = reused
            } else {
                windows.append(Window())
                index = windows.count - 1
            }
            indexByKey[key] = index
        }
        lastKey = key
        lastIndex = index
        return index
    }

    mutating func forget(_ key: Int64) {
        guard let index = indexByKey.removeValue(forKey: key) else { return }
        free.append(index)
        if key == lastKey { lastKey = .min }
    }

    private mutating func reset() {
        indexByKey.removeAll(keepingCapacity: true)
        windows.removeAll(keepingCapacity: true)
        free.removeAll()
        lastKey = .min
    }
}

/// System-call numbers as windows store them: numbers past the table (x32 calls have bit 30 set)
/// share its last entry.
@inline(__always)
func storedCall(_ number: Int) -> UInt16 {
    UInt16(truncatingIfNeeded: min(max(number, 0), BagHash.slotCount - 1))
}
