import Engine

/// A source of events. The command line runs one sensor (or several, merged) into one engine;
/// replayed and live events reach the rules the same way.
public protocol Sensor: AnyObject {
    /// A short description for messages: "replay demo/attack.jsonl".
    var label: String { get }
    /// Delivers events until the source ends or `stop` is called.
    func run(deliver: (Event) -> Void) throws
    /// Asks `run` to return soon; safe to call from any thread (a signal handler's queue).
    func stop()
    var statistics: SensorStatistics { get }
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
