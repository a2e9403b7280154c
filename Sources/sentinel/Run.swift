import ArgumentParser
import BoSC
import Dispatch
import Engine
import Outputs
import Rules
import SentinelJSON
import Sensors
import Web

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `sentinel --rules DIR [--config FILE] [--replay FILE] [-o text|json] [--min-priority P]`
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the monitor: events through the rules, alerts to the outputs.",
        discussion: """
        Without --replay, sentinel watches live: eBPF probes in the kernel (root needed), only the \
        ones the rules need, on containers only unless --include-host. With --replay, events come \
        from a recording (JSON lines; - reads stdin). Alerts go to stdout unless the config file \
        names outputs. Exit status: 0 on success, 1 if an alert \
        could not be delivered, 2 on bad input (rules, config, arguments, malformed recorded events).
        """
    )

    @Option(name: .long, help: ArgumentHelp("A rules directory (every *.json in name order) or file; repeatable. Overrides the config's rules.", valueName: "dir"))
    var rules: [String] = []

    @Option(name: .long, help: ArgumentHelp("A JSON config file with rules, outputs and min_priority.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Replay a recording instead of watching live.", valueName: "file"))
    var replay: String?

    @Option(name: .short, help: "Alert format on stdout: text or json. Adds a stdout output if the config has none.")
    var output: OutputFormat?

    @Option(name: .customLong("min-priority"), help: ArgumentHelp("Load only rules of this priority or graver (EMERGENCY ... DEBUG).", valueName: "priority"))
    var minPriority: Priority?

    @Option(name: .customLong("append-output"), help: ArgumentHelp("Text with %fields added to every rule's output, as Falco's -p: \"id=%container.id\".", valueName: "template"))
    var appendOutput: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where rules keep what they learn (BoSC's profiles). Live runs use \(Run.defaultStateDirectory) without it; replays keep it in memory.", valueName: "dir"))
    var stateDirectory: String?

    static let defaultStateDirectory = "/var/lib/sentinel"

    @Flag(name: .customLong("dry-run"), help: "Load the config, the rules and the outputs, try the probes, Docker and capture on this host, say what is missing, and exit (0: ready, 1: something is missing, 2: bad input).")
    var dryRun = false

    @OptionGroup(title: "Live monitoring")
    var live: LiveOptions

    /// What the config file, the rule files and these options make together.
    var loadoutSource: LoadoutSource {
        LoadoutSource(configPath: config, rulePaths: rules, minimumPriority: minPriority,
                      stdoutFormat: output.map { $0 == .json ? .json : .text }, appendOutput: appendOutput)
    }

    func run() throws {
        // Until the handlers are in place, a SIGHUP or SIGUSR1 (a reload or a log rotation sent
        // early) must not end the run, as their default action would.
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        let loadout: Loadout
        do {
            loadout = try loadoutSource.read()
        } catch {
            printDiagnostics(error.diagnostics)
            if let summary = error.summary { printError("sentinel: \(summary)") }
            throw ExitStatus.badInput
        }
        printDiagnostics(loadout.warnings)
        let settings = loadout.settings
        let dispatcher = try startOutputs(loadout.outputs)
        if dryRun { try checkOnly(loadout) }
        let engine = Engine(rules: loadout.rules)
        let statefulRules = try openState(of: engine.rules)
        let kernel = kernelRequests(for: statefulRules)
        let (sensor, probes) = try makeSensor(for: engine.ruleIndex, withKernelRequests: !statefulRules.isEmpty, kernelRequests: kernel,
                                              pcap: settings.pcap, dispatcher: dispatcher)
        // Live only: a replay's addresses were resolved, or not, when it was recorded.
        let resolver = NameResolver(names: replay == nil ? engine.namesToResolve : [])
        resolver.start()
        defer { resolver.stop() }
        let reloader = Reloader(source: loadoutSource, engine: engine, outputs: loadout.outputs, dispatcher: dispatcher,
                                stateDirectory: stateBase, kernel: kernel, probes: probes)
        let observability = try settings.web.map {
            try serveObservability(on: $0, engine: engine, sensor: sensor, dispatcher: dispatcher, reloads: { reloader.status })
        }
        defer { observability?.stop() }
        let watcher = try settings.watchRules ? watchRules(settings.rulePaths + [config].compactMap { $0 }, reloader: reloader) : nil
        defer { watcher?.stop() }
        // SIGHUP reloads, and reopens the output files as it always did.
        let signals = handleSignals(stopping: sensor, onReopen: { dispatcher.reopenAll() },
                                    onHangup: { reloader.request(); dispatcher.reopenAll() })
        var publisher = MetricsPublisher()
        // A test or a script feeding stdin learns that signals are handled from here on.
        if replay == "-" { printError("sentinel: judging the events on stdin") }
        var sensorError: Error?
        do {
            try sensor.run(deliver: { event in engine.process(event, emit: dispatcher.dispatch) }, between: {
                reloader.applyPrepared()
                publisher.publishIfDue(engine)
            })
        } catch {
            sensorError = error
        }
        observability?.sensorStopped()
        signals.forEach { $0.cancel() }
        // The rules in force now: a reload may have changed them since the start.
        let inForce = Rules.statefulRules(in: engine.rules)
        let unsaved = inForce.flatMap { $0.rule.saveState() }
        unsaved.forEach { printError("sentinel: \($0)") }
        for (name, rule) in inForce {
            for line in rule.closingReport { printError("sentinel: rule \"\(name)\": \(line)") }
        }
        try finish(engine: engine, sensor: sensor, dispatcher: dispatcher, sensorError: sensorError)
        if !unsaved.isEmpty { throw ExitStatus.failure }
    }

    private func watchRules(_ paths: [String], reloader: Reloader) throws -> RulesWatcher {
        do {
            let watcher = try RulesWatcher(paths: paths) { reloader.request() }
            printError("sentinel: watching \(paths.joined(separator: ", ")) for changes (watch_rules)")
            return watcher
        } catch {
            printError("sentinel: watch_rules: \(error)")
            throw ExitStatus.badInput
        }
    }

    /// `--dry-run`: the loadout was read and its outputs opened; what a live run needs is tried.
    private func checkOnly(_ loadout: Loadout) throws -> Never {
        printError("sentinel: config and rules: ok, \(loadout.rules.count) rules, \(loadout.outputs.count) outputs opened")
        guard replay == nil else {
            printError("sentinel: a replay needs nothing of this host: ready")
            throw ExitStatus.success
        }
        let stateful = !statefulRules(in: loadout.rules).isEmpty
        let ready = live.checkHost(gathering: ProbeSelection(for: RuleIndex(rules: loadout.rules)), withKernelRequests: stateful)
        printError(ready ? "sentinel: ready to run" : "sentinel: not ready: see the problems above")
        throw ready ? ExitStatus.success : ExitStatus.failure
    }

    /// Where rules keep what they learn; nil (in memory) for a replay without --state-dir.
    private var stateBase: String? { stateDirectory ?? (replay == nil ? Run.defaultStateDirectory : nil) }

    // MARK: - Steps, in order

    /// Loads what rules learnt in earlier runs; unreadable state files are bad input.
    private func openState(of rules: [CompiledRule]) throws -> [(name: String, rule: StatefulRule)] {
        let stateful = statefulRules(in: rules)
        let diagnostics = Diagnostics()
        do {
            try openRuleState(of: stateful, under: stateBase, diagnostics: diagnostics)
        } catch {
            printError("sentinel: \(error)")
            throw ExitStatus.badInput
        }
        if !diagnostics.all.isEmpty, let base = stateBase {
            printDiagnostics(diagnostics.all)
            printError("sentinel: the state directory \(base) has files that cannot be read; move them away or fix them")
            throw ExitStatus.badInput
        }
        return stateful
    }

    /// Opens every output; one that cannot open (a file in a missing folder) is bad input.
    private func startOutputs(_ specs: [OutputSpec]) throws -> AlertDispatcher {
        var sinks: [(sink: AlertSink, filter: AlertFilter)] = []
        var failures: [Diagnostic] = []
        for spec in specs {
            do { sinks.append((try spec.open(), spec.filter)) } catch { failures.append(error) }
        }
        if !failures.isEmpty {
            printDiagnostics(failures)
            throw ExitStatus.badInput
        }
        return AlertDispatcher(sinks: sinks) { message in printError("sentinel: \(message)") }
    }

    private func serveObservability(on address: ListenAddress, engine: Engine, sensor: Sensor, dispatcher: AlertDispatcher,
                                    reloads: @escaping @Sendable () -> Reloader.Status) throws -> Observability {
        do {
            let observability = try Observability(address: address, engine: engine, sensor: sensor, dispatcher: dispatcher, reloads: reloads)
            printError("sentinel: serving /healthz, /metrics and /versions on http://\(address)")
            return observability
        } catch {
            printError("sentinel: web.listen: \(error)")
            throw ExitStatus.badInput
        }
    }

    /// Live, stateful rules (BoSC) have the kernel stream their containers' calls or judge them
    /// there; those a reload brings attach to the same requests.
    private func kernelRequests(for rules: [(name: String, rule: StatefulRule)]) -> KernelRequests? {
        guard replay == nil else { return nil }
        let requests = KernelRequests()
        for (_, rule) in rules { rule.attach(to: requests) }
        return requests
    }

    /// The sensor, and for a live run the probes a reload retunes.
    private func makeSensor(for rules: RuleIndex, withKernelRequests: Bool, kernelRequests: KernelRequests?,
                            pcap: PcapSensor.Options, dispatcher: AlertDispatcher) throws -> (Sensor, ProbeTuner?) {
        guard let replay else {
            let wanted = live.probes(for: rules, withKernelRequests: withKernelRequests)
            let sensors = try live.makeSensors(gathering: wanted, kernelRequests: kernelRequests, pcap: pcap, onDrop: dispatcher.dispatch)
            return (sensors.sensor, ProbeTuner(sensors: sensors, live: live))
        }
        return (ReplaySensor(path: replay) { diagnostic in printError(diagnostic.description) }, nil)
    }

    private func finish(engine: Engine, sensor: Sensor, dispatcher: AlertDispatcher, sensorError: Error?) throws {
        let drained = dispatcher.drain(timeout: 30)
        let sensorStatistics = sensor.statistics
        printError("sentinel: \(sensor.label): \(sensorStatistics.delivered) events delivered, \(sensorStatistics.dropped) dropped; "
                   + "engine: \(engine.statistics.events) events, \(engine.rules.reduce(0) { $0 + $1.alerts }) alerts")
        var lost = false
        for output in dispatcher.statistics {
            // What is still queued after the drain's timeout will not be delivered.
            let dropped = output.dropped + UInt64(output.queued)
            printError("sentinel: output \(output.label): \(output.delivered) delivered, \(dropped) dropped, \(output.failed) failed")
            lost = lost || dropped > 0 || output.failed > 0
        }
        if !drained { printError("sentinel: outputs did not drain within 30 s") }
        if let sensorError {
            if let diagnostics = sensorError as? DiagnosticsError { printDiagnostics(diagnostics.diagnostics) } else { printError("sentinel: \(sensorError)") }
            throw ExitStatus.badInput
        }
        // A replay's drops are malformed lines (bad input); live drops are events lost.
        if sensorStatistics.dropped > 0 { throw sensor is ReplaySensor ? ExitStatus.badInput : ExitStatus.failure }
        if lost || !drained { throw ExitStatus.failure }
    }
}

/// Loads each stateful rule's state from its own folder, `<base>/rules/<rule name>/`, and has it
/// tell its notices on stderr; with no base (a replay without --state-dir) the state stays in
/// memory and the rule says nothing of it. Used at start and by a reload, for the rules it adds.
func openRuleState(of rules: [(name: String, rule: StatefulRule)], under base: String?, diagnostics: Diagnostics) throws(FileError) {
    guard let base else { return }
    for (name, rule) in rules {
        rule.notice = { printError("sentinel: rule \"\(name)\": \($0)") }
        try rule.openState(directory: "\(base)/rules/\(fileNameSafe(name))", diagnostics: diagnostics)
    }
}
