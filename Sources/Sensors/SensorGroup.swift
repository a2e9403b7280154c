import Dispatch
import Engine
import Synchronization

/// Several sensors feeding one engine: the first runs on the caller's thread, each other on its
/// own; their events reach `deliver` one at a time (the engine is single-threaded), in the order
/// they come. When any sensor ends, the others are stopped; `run` returns when all have.
public final class SensorGroup: Sensor {
    public let sensors: [Sensor]
    private let delivering = Mutex<Void>(())

    public init(_ sensors: [Sensor]) {
        precondition(!sensors.isEmpty, "a group of no sensors")
        self.sensors = sensors
    }

    public var label: String { sensors.map(\.label).joined(separator: " + ") }

    public var statistics: SensorStatistics {
        sensors.reduce(SensorStatistics()) { total, sensor in
            let statistics = sensor.statistics
            return SensorStatistics(delivered: total.delivered + statistics.delivered, dropped: total.dropped + statistics.dropped)
        }
    }

    public var metrics: [MetricReading] { sensors.flatMap(\.metrics) }

    public func stop() {
        for sensor in sensors { sensor.stop() }
    }

    /// `between` runs on the first sensor's thread, under the same lock as `deliver`.
    public func run(deliver: (Event) -> Void, between: () -> Void) throws {
        try withoutActuallyEscaping(deliver) { deliver in
            let serialized: (Event) -> Void = { [self] event in delivering.withLock { _ in deliver(event) } }
            let others = DispatchGroup()
            let failures = Mutex<[Error]>([])
            for sensor in sensors.dropFirst() {
                // Its run ends before this one returns (others.wait()).
                let task = UncheckedSendable { [self] in
                    do { try sensor.run(deliver: serialized) } catch { failures.withLock { $0.append(error) } }
                    stop()
                }
                DispatchQueue.global().async(group: others) { task.value() }
            }
            var firstError: Error?
            do {
                try sensors[0].run(deliver: serialized, between: { delivering.withLock { _ in between() } })
            } catch {
                firstError = error
            }
            stop()
            others.wait()
            if let error = firstError ?? failures.withLock({ $0.first }) { throw error }
        }
    }
}
