import Dispatch
import Engine
import Synchronization

/// Fans alerts out to the sinks. Each sink has its own serial queue and a bounded backlog, so a
/// slow or dead sink never stalls the engine or another sink. A failed write is retried with
/// backoff, then, once the backoff is spent, every `retryDelays.last` seconds for as long as the
/// sink fails: the sink is failing (said once, with the error, and once when it recovers), and
/// its alerts wait in its backlog meanwhile, so that a full disk or a collector down for a while
/// loses nothing that fits. Nothing is lost silently: an alert that finds the backlog full is
/// counted dropped, one the peer refuses for good (`RefusedByPeer`) is counted failed, and so is
/// one still failing when the run ends or a reload removes its output (those get the backoff, or
/// one attempt if the sink is failing already).
///
/// A sink that batches (`batchLimit` above 1) takes, at each write, every alert that waited while
/// the previous write was in flight, up to its limit: one alert goes out alone at once, a burst in
/// few requests, with no timer to wait on.
public final class AlertDispatcher: Sendable {
    public struct SinkStatistics: Sendable {
        public let label: String
        public let delivered: UInt64
        /// Refused because the sink's backlog was full.
        public let dropped: UInt64
        /// Refused by the peer, or still failing when the run ended or a reload removed the output.
        public let failed: UInt64
        /// Waiting or being written when it was read: at exit, not delivered.
        public let queued: Int
        /// Its last write failed and none has succeeded since: what `/healthz` reports.
        public let lastError: String?
        /// False for an output a reload removed.
        public let inUse: Bool
    }

    /// The waits between attempts at one write: 0.1 s doubling to 3.2 s (6.3 s of backoff), then
    /// 3.2 s for as long as the sink fails; it is failing once the backoff is spent.
    public static let defaultRetryDelays: [Double] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]

    private final class Route: @unchecked Sendable {
        struct Backlog {
            /// Alerts from `head` on wait; those before it were taken (kept until it is cheap to
            /// let go of them, so that taking one alert does not move all the others).
            var alerts: [Alert] = []
            var head = 0
            var inFlight = 0
            /// A block on `queue` is writing, or is about to: a new alert need not start one.
            var draining = false
            var reopenRequested = false

            var waiting: Int { alerts.count - head }

            mutating func take(upTo limit: Int) -> [Alert] {
                let count = min(limit, waiting)
                let taken = Array(alerts[head..<head + count])
                head += count
                if head == alerts.count {
                    alerts.removeAll(keepingCapacity: true)
                    head = 0
                } else if head >= 1024 && head * 2 >= alerts.count {
                    alerts.removeFirst(head)
                    head = 0
                }
                return taken
            }
        }

        // The sink is used only on `queue`.
        let sink: AlertSink
        let filter: Mutex<AlertFilter>
        let queue: DispatchQueue
        let backlog = Mutex(Backlog())
        let delivered = Atomic<UInt64>(0)
        let dropped = Atomic<UInt64>(0)
        let failed = Atomic<UInt64>(0)
        let lastError = Mutex<String?>(nil)
        /// Set when the run drains for its end, or a reload retires the output: a write that still
        /// fails after the backoff is not tried again.
        let givingUp = Atomic<Bool>(false)
        /// Used only on `queue`: since when the sink has failed every write (nil while it works).
        var failingSince: Double?

        init(sink: AlertSink, filter: AlertFilter) {
            self.sink = sink
            self.filter = Mutex(filter)
            queue = DispatchQueue(label: "sentinel.output.\(sink.label)")
        }
    }

    /// Changed only by `reconfigure` (a reload); read by every dispatch.
    private let routes: Mutex<[Route]>
    /// Outputs a reload removed: their counts still belong in the run's totals.
    private let retiredRoutes = Mutex<[Route]>([])
    private let capacity: Int
    private let retryDelays: [Double]
    private let reportError: @Sendable (String) -> Void

    /// `reportError` hears of failed writes (for stderr); it is called on a sink's queue.
    public init(sinks: [(sink: AlertSink, filter: AlertFilter)], capacity: Int = 10_000,
                retryDelays: [Double] = defaultRetryDelays, reportError: @escaping @Sendable (String) -> Void = { _ in }) {
        routes = Mutex(sinks.map { Route(sink: $0.sink, filter: $0.filter) })
        self.capacity = capacity
        self.retryDelays = retryDelays
        self.reportError = reportError
    }

    /// Hands the alert to every sink whose filter takes it; never blocks.
    public func dispatch(_ alert: Alert) {
        for route in routes.withLock({ $0 }) where route.filter.withLock({ $0.accepts(alert) }) {
            let accepted: Bool? = route.backlog.withLock { backlog in
                guard backlog.waiting + backlog.inFlight < capacity else { return nil }
                backlog.alerts.append(alert)
                defer { backlog.draining = true }
                return !backlog.draining
            }
            switch accepted {
            case nil: route.dropped.add(1, ordering: .relaxed)
            case true?: startDraining(route)
            case false?: break
            }
        }
    }

    private func startDraining(_ route: Route) {
        route.queue.async { [retryDelays, reportError] in
            Self.drain(route, retryDelays: retryDelays, reportError: reportError)
        }
    }

    /// Writes what waits, batch by batch, until nothing does; a reopen asked for meanwhile comes
    /// between two batches, so that a steady stream cannot hold it off.
    private static func drain(_ route: Route, retryDelays: [Double], reportError: @Sendable (String) -> Void) {
        while true {
            let (batch, reopen) = route.backlog.withLock { backlog -> ([Alert], Bool) in
                let reopen = backlog.reopenRequested
                backlog.reopenRequested = false
                let batch = backlog.take(upTo: route.sink.batchLimit)
                backlog.inFlight = batch.count
                if batch.isEmpty && !reopen { backlog.draining = false }
                return (batch, reopen)
            }
            if reopen {
                do { try route.sink.reopen() } catch { reportError("output \(route.sink.label): reopen failed: \(error)") }
            }
            if batch.isEmpty {
                if reopen { continue }
                return
            }
            deliver(batch, to: route, retryDelays: retryDelays, reportError: reportError)
            route.backlog.withLock { $0.inFlight = 0 }
        }
    }

    /// Writes the batch, trying again until it is delivered, the peer refuses it, or the route
    /// gives up; a reopen asked for meanwhile comes between two attempts.
    private static func deliver(_ batch: [Alert], to route: Route, retryDelays: [Double], reportError: @Sendable (String) -> Void) {
        var attempt = 0
        func reportNotDelivered(_ error: Error) {
            let what = batch.count == 1 ? "alert \"\(batch[0].rule)\"" : "\(batch.count) alerts"
            reportError("output \(route.sink.label): \(what) not delivered after \(attempt + 1) attempt\(attempt == 0 ? "" : "s"): \(error)")
        }
        while true {
            do {
                try route.sink.write(batch: batch)
                route.delivered.add(UInt64(batch.count), ordering: .relaxed)
                route.lastError.withLock { $0 = nil }
                if let since = route.failingSince {
                    route.failingSince = nil
                    reportError("output \(route.sink.label): recovered after \(((monotonicSeconds() - since) * 10).rounded() / 10) s")
                }
                return
            } catch let refusal as RefusedByPeer {
                route.failed.add(UInt64(batch.count), ordering: .relaxed)
                route.lastError.withLock { $0 = "\(refusal)" }
                reportNotDelivered(refusal)
                return
            } catch {
                route.lastError.withLock { $0 = "\(error)" }
                let backoffSpent = attempt >= retryDelays.count
                // Ending: the backoff, but not the endless retrying; one attempt once it is failing.
                if retryDelays.isEmpty || (route.givingUp.load(ordering: .relaxed) && (backoffSpent || route.failingSince != nil)) {
                    route.failed.add(UInt64(batch.count), ordering: .relaxed)
                    if route.failingSince == nil {
                        route.failingSince = monotonicSeconds()
                        reportNotDelivered(error)
                    }
                    return
                }
                if backoffSpent && route.failingSince == nil {
                    route.failingSince = monotonicSeconds()
                    reportError("output \(route.sink.label) is failing: \(error); its alerts wait in its queue and it is tried again every \(retryDelays[retryDelays.count - 1]) s until it recovers")
                }
                sleepSeconds(retryDelays[min(attempt, retryDelays.count - 1)])
                attempt += 1
                if route.backlog.withLock({ backlog in defer { backlog.reopenRequested = false }; return backlog.reopenRequested }) {
                    do { try route.sink.reopen() } catch { reportError("output \(route.sink.label): reopen failed: \(error)") }
                }
            }
        }
    }

    /// What a reload makes of one output: one of today's, by its place, with its filter as the new
    /// config says; or a new sink.
    public enum Reconfigured {
        case keep(index: Int, filter: AlertFilter)
        case add(sink: AlertSink, filter: AlertFilter)
    }

    /// Swaps the outputs for `outputs`, in their order. A kept output keeps its queue, what waits
    /// in it and its counts; one not kept finishes writing what it holds, then is flushed and let go.
    public func reconfigure(_ outputs: [Reconfigured]) {
        let retired: [Route] = routes.withLock { routes in
            let old = routes
            routes = outputs.map { output in
                switch output {
                case .keep(let index, let filter):
                    old[index].filter.withLock { $0 = filter }
                    return old[index]
                case .add(let sink, let filter):
                    return Route(sink: sink, filter: filter)
                }
            }
            let kept = Set(outputs.compactMap { if case .keep(let index, _) = $0 { return index } else { return nil } })
            return old.enumerated().filter { !kept.contains($0.offset) }.map(\.element)
        }
        retiredRoutes.withLock { $0 += retired }
        for route in retired {
            route.givingUp.store(true, ordering: .relaxed)
            route.queue.async { route.sink.flush() }
        }
    }

    /// Reopens every sink (files after rotation), between two of its writes.
    public func reopenAll() {
        for route in routes.withLock({ $0 }) {
            let start = route.backlog.withLock { backlog in
                backlog.reopenRequested = true
                defer { backlog.draining = true }
                return !backlog.draining
            }
            if start { startDraining(route) }
        }
    }

    /// For the run's end: waits until every queued alert is written (or counted failed: a failing
    /// output's get one attempt each) and the sinks are flushed, for at most `timeout` seconds;
    /// returns whether everything drained.
    @discardableResult
    public func drain(timeout: Double) -> Bool {
        let group = DispatchGroup()
        // A serial queue runs this after the drain block in front of it, which ends only when
        // nothing waits.
        for route in routes.withLock({ $0 }) {
            route.givingUp.store(true, ordering: .relaxed)
            route.queue.async(group: group) { route.sink.flush() }
        }
        return group.wait(timeout: .now() + timeout) == .success
    }

    /// The outputs in use, then any a reload removed.
    public var statistics: [SinkStatistics] {
        let inUse = routes.withLock { $0 }
        return (inUse + retiredRoutes.withLock { $0 }).enumerated().map { position, route in
            let queued = route.backlog.withLock { $0.waiting + $0.inFlight }
            return SinkStatistics(label: route.sink.label, delivered: route.delivered.load(ordering: .relaxed),
                                  dropped: route.dropped.load(ordering: .relaxed),
                                  failed: route.failed.load(ordering: .relaxed), queued: queued,
                                  lastError: route.lastError.withLock { $0 }, inUse: position < inUse.count)
        }
    }
}

private func sleepSeconds(_ seconds: Double) {
    let semaphore = DispatchSemaphore(value: 0)
    _ = semaphore.wait(timeout: .now() + seconds)
}
