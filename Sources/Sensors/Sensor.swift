import Engine

/// A source of events. The command line runs one sensor (or several, merged) into one engine;
/// replayed and live events reach the rules the same way.
public protocol Sensor: AnyObject {
    /// A short description for messages: "replay demo/attack.jsonl".
    var label: String { get }
    /// Delivers events until the source ends or `stop` is called. `between` runs on the same
    /// thread as `deliver`, never during it, at least every 200 ms whether events come or not:
    /// where the run swaps in a reloaded rule set.
    func run(deliver: (Event) -> Void, between: () -> Void) throws
    /// Asks `run` to return soon; safe to call from any thread (a signal handler's queue).
    func stop()
    var statistics: SensorStatistics { get }
    /// Its own counts beyond `statistics`, for `/metrics`; read from any thread while it runs.
    var metrics: [MetricReading] { get }
}

extension Sensor {
    public var metrics: [MetricReading] { [] }

    public func run(deliver: (Event) -> Void) throws {
        try run(deliver: deliver, between: {})
    }
}

/// What a sensor produced and what it lost, reported at exit: nothing is dropped silently.
public struct SensorStatistics: Sendable {
    public var delivered: UInt64 = 0
    /// Events lost before they reached the engine (a full ring buffer, a malformed record).
    public var dropped: UInt64 = 0

    public init(delivered: UInt64 = 0, dropped: UInt64 = 0) {
        self.delivered = delivered
        self.dropped = dropped
    }
}
