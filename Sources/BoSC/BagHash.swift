import Engine

/// The bag hash, additive so that a sliding window updates it in O(1): a bag's hash is the sum of
/// one random 64-bit value per call in it, by the call's slot. Two different bags share a hash
/// only by chance, about once in 2^64. The kernel gets this same table, so both sides agree.
public enum BagHash {
    /// Slots run from 0 to this bound: system-call numbers while training, profile slots after.
    public static let slotCount = SystemCallNumbers.bound

    /// Fixed values, not per run: a profile's hashes must mean the same after a restart.
    public static let values: [UInt64] = {
        var generator = SplitMix64(seed: 0x5E47_1AE1_B05C_0001)
        return (0..<slotCount).map { _ in generator.next() }
    }()

    /// The hash of a bag given as its slots, one per call (repeats allowed).
    public static func of<Slots: Sequence>(slots: Slots) -> UInt64 where Slots.Element: BinaryInteger {
        slots.reduce(0) { $0 &+ values[Int($1)] }
    }
}

/// A set of 64-bit bag hashes with open addressing: the detector asks it once per call, and
/// Swift's `Set` costs several times more per lookup.
public struct BagHashSet: Sendable {
    /// Zero marks an empty bucket; a real hash of zero is remembered apart.
    private var buckets: [UInt64]
    private var mask: Int
    private var containsZero = false
    public private(set) var count = 0

    public init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        buckets = Array(repeating: 0, count: size)
        mask = size - 1
    }

    public init<Hashes: Sequence<UInt64>>(_ hashes: Hashes) {
        self.init(minimumCapacity: hashes.underestimatedCount)
        for hash in hashes { insert(hash) }
    }

    @inline(__always)
    public func contains(_ hash: UInt64) -> Bool {
        if hash == 0 { return containsZero }
        return buckets.withUnsafeBufferPointer { buckets in
            // The low bits of a sum of random values are as random as the high ones.
            var index = Int(truncatingIfNeeded: hash) & mask
            while true {
                let found = buckets[index]
                if found == hash { return true }
                if found == 0 { return false }
                index = (index + 1) & mask
            }
        }
    }

    public mutating func insert(_ hash: UInt64) {
        if hash == 0 {
            if !containsZero { count += 1 }
            containsZero = true
            return
        }
        if (count + 1) * 2 > buckets.count { grow() }
        var index = Int(truncatingIfNeeded: hash) & mask
        while buckets[index] != 0 {
            if buckets[index] == hash { return }
            index = (index + 1) & mask
        }
        buckets[index] = hash
        count += 1
    }

    private mutating func grow() {
        let old = buckets.filter { $0 != 0 }
        buckets = Array(repeating: 0, count: buckets.count * 2)
        mask = buckets.count - 1
        count = containsZero ? 1 : 0
        for hash in old { insert(hash) }
    }
}
