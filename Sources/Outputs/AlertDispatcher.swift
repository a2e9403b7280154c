import Dispatch
import Engine
import Synchronization

/// Fans alerts out to the sinks. Each sink has its own serial queue and a bounded backlog, so a
/// slow or dead sink never stalls the engine or another sink. A failed write is retried with
/// backoff; an alert that finds the backlog full, or that still fails after the retries, is
/// counted, never silently lost.
public final class AlertDispatcher: Sendable {
    public struct SinkStatistics: Sendable {
        public let label: String
        public let delivered: UInt64
        /// Refused because the sink's backlog was full.
        public let dropped: UInt64
        /// Given up after every retry failed.
        public let failed: UInt64
    }

    /// How long to keep retrying one alert before counting it failed: 0.1 s doubling, 6.3 s in all.
    public static let defaultRetryDelays: [Double] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]

    private final class Route: @unchecked Sendable {
        // The sink is used only on `queue`.
        let sink: AlertSink
        let minimumPriority: Priority
        let queue: DispatchQueue
        let backlog = Atomic<Int>(0)
        let delivered = Atomic<UInt64>(0)
        let dropped = Atomic<UInt64>(0)
        let failed = Atomic<UInt64>(0)

        init(sink: AlertSink, minimumPriority: Priority) {
            self.sink = sink
            self.minimumPriority = minimumPriority
            queue = DispatchQueue(label: "sentinel.output.\(sink.label)")
        }
    }

    private let routes: [Route]
    private let capacity: Int
    private let retryDelays: [Double]
    private let reportError: @Sendable (String) -> Void

    /// `reportError` hears of failed writes (for stderr); it is called on a sink's queue.
    public init(sinks: [(sink: AlertSink, minimumPriority: Priority)], capacity: Int = 10_000,
                retryDelays: [Double] = defaultRetryDelays, reportError: @escaping @Sendable (String) -> Void = { _ in }) {
        routes = sinks.map { Route(sink: $0.sink, minimumPriority: $0.minimumPriority) }
        self.capacity = capacity
        self.retryDelays = retryDelays
        self.reportError = reportError
    }

    /// Hands the alert to every sink whose minimum it meets; never blocks.
    public func dispatch(_ alert: Alert) {
        for route in routes where alert.priority.isAtLeast(route.minimumPriority) {
            guard route.backlog.add(1, ordering: .relaxed).newValue <= capacity else {
                route.backlog.subtract(1, ordering: .relaxed)
                route.dropped.add(1, ordering: .relaxed)
                continue
            }
            route.queue.async { [retryDelays, reportError] in
                Self.deliver(alert, to: route, retryDelays: retryDelays, reportError: reportError)
                route.backlog.subtract(1, ordering: .relaxed)
            }
        }
    }

    private static func deliver(_ alert: Alert, to route: Route, retryDelays: [Double], reportError: @Sendable (String) -> Void) {
        var lastError: Error?
        for delay in [0] + retryDelays {
            if delay > 0 { sleepSeconds(delay) }
            do {
                try route.sink.write(alert)
                route.delivered.add(1, ordering: .relaxed)
                return
            } catch {
                lastError = error
            }
        }
        route.failed.add(1, ordering: .relaxed)
        reportError("output \(route.sink.label): alert \"\(alert.rule)\" not delivered after \(retryDelays.count + 1) attempts: \(lastError.map { "\($0)" } ?? "unknown error")")
    }

    /// Reopens every sink (files after rotation), in order with the alerts already queued.
    public func reopenAll() {
        for route in routes {
            route.queue.async { [reportError] in
                do { try route.sink.reopen() } catch { reportError("output \(route.sink.label): reopen failed: \(error)") }
            }
        }
    }

    /// Waits until every queued alert is written (or given up) and the sinks are flushed, for at
    /// most `timeout` seconds; returns whether everything drained.
    @discardableResult
    public func drain(timeout: Double) -> Bool {
        let group = DispatchGroup()
        for route in routes {
            route.queue.async(group: group) { route.sink.flush() }
        }
        return group.wait(timeout: .now() + timeout) == .success
    }

    public var statistics: [SinkStatistics] {
        routes.map { route in
            SinkStatistics(label: route.sink.label, delivered: route.delivered.load(ordering: .relaxed),
                           dropped: route.dropped.load(ordering: .relaxed) + UInt64(max(route.backlog.load(ordering: .relaxed), 0)),
                           failed: route.failed.load(ordering: .relaxed))
        }
    }
}

private func sleepSeconds(_ seconds: Double) {
    let semaphore = DispatchSemaphore(value: 0)
    _ = semaphore.wait(timeout: .now() + seconds)
}
