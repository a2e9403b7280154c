import Engine
import Outputs
import Rules
import SentinelJSON
import Sensors
import Synchronization
import Web

#if canImport(Glibc)
import Glibc
#endif

/// sentinel's own pages while it runs, on the config's `web.listen` address: `/healthz` for a
/// liveness probe, `/metrics` for Prometheus, `/versions` for a fleet inventory. Each page reads
/// counters the engine, sensors and outputs keep anyway, at the moment it is asked for.
///
/// Metric labels are bounded by the rule set, the event and record kinds and the outputs: no
/// container, process or image is ever a label (a fleet's Prometheus would drown in series).
final class Observability: @unchecked Sendable {
    // Read from the web server's thread: only members that are safe to read from any thread
    // (the engine's rules and statistics, the sensor's statistics and metrics, the dispatcher).
    private let engine: Engine
    private let sensor: Sensor
    private let dispatcher: AlertDispatcher
    private let reloads: @Sendable () -> Reloader.Status
    private let sensorRunning = Atomic<Bool>(true)
    private let startTime = Double(time(nil))
    private var server: WebServer?

    init(address: ListenAddress, engine: Engine, sensor: Sensor, dispatcher: AlertDispatcher, reloads: @escaping @Sendable () -> Reloader.Status) throws {
        self.engine = engine
        self.sensor = sensor
        self.dispatcher = dispatcher
        self.reloads = reloads
        server = try WebServer(address: address, pages: [
            "/healthz": { [unowned self] in health() },
            "/metrics": { [unowned self] in WebServer.Response(contentType: PrometheusText.contentType, body: metricsPage()) },
            "/versions": { WebServer.Response(contentType: "application/json", body: Version.jsonText + "\n") },
        ])
        if !address.isLoopback {
            printError("sentinel: warning: serving /metrics on \(address), which other machines can reach: it names every rule and output")
        }
    }

    /// The sensor's run has returned: `/healthz` says so until the server stops.
    func sensorStopped() { sensorRunning.store(false, ordering: .relaxed) }

    func stop() {
        server?.stop()
        server = nil
    }

    // MARK: - Pages

    /// 200 while the sensors run and every output's last write went through; 503 with the reasons
    /// otherwise. Dropped events are not a failure here (a restart would not bring them back):
    /// `/metrics` counts them.
    func health() -> WebServer.Response {
        var problems: [String] = []
        if !sensorRunning.load(ordering: .relaxed) { problems.append("the sensors have stopped") }
        for output in dispatcher.statistics where output.inUse {
            if let error = output.lastError { problems.append("output \(output.label) is failing: \(error)") }
        }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("status"); writer.string(problems.isEmpty ? "ok" : "failing")
        if !problems.isEmpty {
            writer.key("problems")
            writer.beginArray()
            for problem in problems { writer.string(problem) }
            writer.endArray()
        }
        writer.endObject()
        return WebServer.Response(status: problems.isEmpty ? 200 : 503, contentType: "application/json", body: writer.text + "\n")
    }

    func metricsPage() -> String {
        var page = PrometheusText()
        page.family("sentinel_build_info", .gauge, "sentinel's version and what it runs on; always 1.")
        page.sample("sentinel_build_info", ["version": sentinelVersion, "libbpf": ComponentVersions.libbpf, "libpcap": ComponentVersions.libpcap,
                                            "kernel": ComponentVersions.kernel], 1)

        page.family("sentinel_events_total", .counter, "Events judged, per event type and source.")
        for type in EventType.allCases {
            let count = engine.statistics.eventsByType[Int(type.rawValue)]
            guard count > 0 else { continue }
            page.sample("sentinel_events_total", ["type": type.name, "source": EventType.messages.contains(type) ? "pcap" : "syscall"], count)
        }
        let rules = engine.currentRules
        page.single("sentinel_rules_loaded", .gauge, "Rules judging events.", rules.count)
        let reload = reloads()
        page.single("sentinel_rules_generation", .gauge, "The rule set in force: 1 at start, one more at each reload that took.", reload.generation)
        page.single("sentinel_last_reload_success", .gauge, "0 if the last reload was refused (the rules in force stayed), else 1.", reload.lastSucceeded ? 1 : 0)
        page.family("sentinel_last_reload_timestamp_seconds", .gauge, "When the last reload was asked for; 0 before any.")
        page.sample("sentinel_last_reload_timestamp_seconds", [:], reload.lastAttempt)
        page.family("sentinel_last_reload_pause_seconds", .gauge, "How long judging stopped for the last reload's swap.")
        page.sample("sentinel_last_reload_pause_seconds", [:], reload.lastPauseSeconds)
        page.family("sentinel_alerts_total", .counter, "Alerts raised, per rule.")
        for rule in rules {
            page.sample("sentinel_alerts_total", ["rule": rule.name, "priority": rule.priority.displayName, "source": rule.source], rule.alerts)
        }

        writeRuleState(rules, to: &page)
        writeSensors(to: &page)
        writeOutputs(to: &page)
        writeProcess(to: &page)
        return page.text
    }

    /// The tables' sizes and the stateful rules' own readings, as the engine's thread last published them.
    private func writeRuleState(_ rules: [CompiledRule], to page: inout PrometheusText) {
        let tables = engine.statistics.tables
        typealias S = Engine.Statistics
        page.family("sentinel_table_entries", .gauge, "Entries of the engine's process and container tables.")
        page.sample("sentinel_table_entries", ["table": "processes"], tables[S.processes])
        page.sample("sentinel_table_entries", ["table": "containers"], tables[S.containers])
        page.family("sentinel_table_evictions_total", .counter, "Entries evicted to keep a table within its capacity.")
        page.sample("sentinel_table_evictions_total", ["table": "processes"], tables[S.processesEvicted])
        page.sample("sentinel_table_evictions_total", ["table": "containers"], tables[S.containersEvicted])
        var readings: [(labels: [(String, String)], reading: MetricReading)] = []
        for (name, rule) in statefulRules(in: rules) {
            for reading in rule.metrics { readings.append(([("rule", name)] + reading.labels.map { ($0.name, $0.value) }, reading)) }
        }
        write(readings, to: &page)
    }

    /// Readings as families: each name once, its samples together, in the order first seen.
    private func write(_ readings: [(labels: [(String, String)], reading: MetricReading)], to page: inout PrometheusText) {
        var order: [String] = []
        var families: [String: [(labels: [(String, String)], reading: MetricReading)]] = [:]
        for entry in readings {
            if families[entry.reading.name] == nil { order.append(entry.reading.name) }
            families[entry.reading.name, default: []].append(entry)
        }
        for name in order {
            let samples = families[name]!
            let fullName = "sentinel_" + name
            page.family(fullName, samples[0].reading.kind == .counter ? .counter : .gauge, samples.first { !$0.reading.help.isEmpty }?.reading.help ?? "")
            for sample in samples { page.sample(fullName, labels: sample.labels, sample.reading.value) }
        }
    }

    private func writeSensors(to page: inout PrometheusText) {
        let members = (sensor as? SensorGroup)?.sensors ?? [sensor]
        let statistics = members.map { ($0.label, $0.statistics) }
        page.family("sentinel_sensor_events_delivered_total", .counter, "Events a sensor delivered to the engine.")
        for (label, counts) in statistics { page.sample("sentinel_sensor_events_delivered_total", ["sensor": label], counts.delivered) }
        page.family("sentinel_sensor_events_dropped_total", .counter, "Events a sensor lost before the engine saw them.")
        for (label, counts) in statistics { page.sample("sentinel_sensor_events_dropped_total", ["sensor": label], counts.dropped) }

        write(sensor.metrics.map { reading in (reading.labels.map { ($0.name, $0.value) }, reading) }, to: &page)
    }

    private func writeOutputs(to page: inout PrometheusText) {
        let outputs = dispatcher.statistics
        page.family("sentinel_output_alerts_total", .counter, "Alerts per output: delivered, dropped (its queue was full) or failed (every retry failed, or the peer refused them).")
        for output in outputs {
            page.sample("sentinel_output_alerts_total", ["output": output.label, "outcome": "delivered"], output.delivered)
            page.sample("sentinel_output_alerts_total", ["output": output.label, "outcome": "dropped"], output.dropped)
            page.sample("sentinel_output_alerts_total", ["output": output.label, "outcome": "failed"], output.failed)
        }
        page.family("sentinel_output_queue_depth", .gauge, "Alerts waiting for an output or being written.")
        for output in outputs { page.sample("sentinel_output_queue_depth", ["output": output.label], output.queued) }
        page.family("sentinel_output_up", .gauge, "1 unless the output's last write failed.")
        for output in outputs { page.sample("sentinel_output_up", ["output": output.label], output.lastError == nil ? 1 : 0) }
    }

    /// The process_* metrics every Prometheus client library exports, from /proc and getrusage.
    private func writeProcess(to page: inout PrometheusText) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        page.family("process_cpu_seconds_total", .counter, "User and system CPU time spent, in seconds.")
        page.sample("process_cpu_seconds_total", [:], cpu)
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let statm = readWholeFile("/proc/self/statm").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        if fields.count >= 2 {
            page.single("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", fields[0] * pageSize)
            page.single("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", fields[1] * pageSize)
        }
        // Less the descriptor that lists them.
        page.single("process_open_fds", .gauge, "Open file descriptors.", max(listDirectory("/proc/self/fd").count - 1, 0))
        page.family("process_start_time_seconds", .gauge, "Start time of the process since the epoch, in seconds.")
        page.sample("process_start_time_seconds", [:], startTime)
    }
}

/// Has the engine and the stateful rules copy what `/metrics` reads, twice a second at most: on
/// the engine's thread, between events.
struct MetricsPublisher {
    private var last = 0.0

    mutating func publishIfDue(_ engine: Engine) {
        let now = monotonicSeconds()
        guard now - last >= 0.5 else { return }
        last = now
        engine.publishTableSizes()
        for (_, rule) in statefulRules(in: engine.rules) { rule.publishMetrics() }
    }
}
