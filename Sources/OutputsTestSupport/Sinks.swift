import Dispatch
import Engine
import Outputs
import Synchronization

/// Test doubles for the outputs: sinks that keep, stall or refuse what they are given. They stand
/// in for a real output inside a unit test only; a feature's own test uses the real receiver.

/// Keeps every alert it is written, in order.
public final class MemorySink: AlertSink, Sendable {
    private let stored = Mutex<[Alert]>([])
    private let reopenCount = Atomic<Int>(0)
    public let label: String

    public init(label: String = "memory") {
        self.label = label
    }

    public var alerts: [Alert] { stored.withLock { $0 } }
    public var rules: [String] { alerts.map(\.rule) }
    public var reopens: Int { reopenCount.load(ordering: .relaxed) }

    public func write(_ alert: Alert) throws { stored.withLock { $0.append(alert) } }
    public func reopen() throws { reopenCount.add(1, ordering: .relaxed) }
    public func flush() {}
}

/// Blocks each write until `release` lets it through: a syslog server that stopped reading.
public final class StalledSink: AlertSink, Sendable {
    private let gate = DispatchSemaphore(value: 0)
    private let kept = MemorySink(label: "stalled")
    public var label: String { kept.label }

    public init() {}

    public var rules: [String] { kept.rules }
    public func release(_ count: Int = 1) { for _ in 0..<count { gate.signal() } }

    public func write(_ alert: Alert) throws {
        gate.wait()
        try kept.write(alert)
    }

    public func reopen() throws {}
    public func flush() {}
}

/// Fails every write, as a peer that refuses connections.
public final class FailingSink: AlertSink, Sendable {
    private let attemptCount = Atomic<Int>(0)
    private let failures: Int
    private let error: any Error & Sendable
    private let written = Mutex<[String]>([])
    public let label = "failing"

    /// Fails the first `failures` writes (every one by default), then writes to memory.
    public init(failures: Int = .max, error: any Error & Sendable = SystemError("send", code: 111)) {
        self.failures = failures
        self.error = error
    }

    public var attempts: Int { attemptCount.load(ordering: .relaxed) }
    /// The rules of the alerts written once it stopped failing.
    public var rules: [String] { written.withLock { $0 } }

    public func write(_ alert: Alert) throws {
        if attemptCount.add(1, ordering: .relaxed).newValue <= failures { throw error }
        written.withLock { $0.append(alert.rule) }
    }

    public func reopen() throws {}
    public func flush() {}
}
