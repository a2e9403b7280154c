import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Small pieces every sensor uses: the kernel's clock, a stop flag, a carrier across threads.

/// Kernel time (CLOCK_BOOTTIME, which keeps counting through suspend) to wall time.
struct BootClock {
    private let offset: Int64

    init() {
        offset = Int64(bitPattern: Self.read(CLOCK_REALTIME)) - Int64(bitPattern: Self.read(CLOCK_BOOTTIME))
    }

    func wallTime(bootNanoseconds: UInt64) -> UInt64 { UInt64(bitPattern: Int64(bitPattern: bootNanoseconds) + offset) }
    func now() -> UInt64 { Self.read(CLOCK_REALTIME) }
    func monotonicSeconds() -> Double { Double(Self.read(CLOCK_MONOTONIC)) / 1e9 }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// Set once, from any thread (a signal handler's queue), read by the loops that must end.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// Carries a value to another thread that the sender vouches for: a closure only ever called from
/// one thread at a time, a run loop that ends before its owner returns.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
