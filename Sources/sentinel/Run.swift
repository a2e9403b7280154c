import ArgumentParser
import BoSC
import Dispatch
import Engine
import Outputs
import Rules
import SentinelJSON
import Sensors

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

    @OptionGroup(title: "Live monitoring")
    var live: LiveOptions

    func run() throws {
        let settings = try loadSettings()
        let ruleSet = try loadRuleSet(settings.rulePaths, minimumPriority: settings.minimumPriority)
        let dispatcher = startOutputs(settings)
        let engine = Engine(rules: try appendingOutput(to: ruleSet.rules))
        let persistentRules = try openState(of: engine.rules)
        let sensor = try makeSensor(gathering: ProbeSelection(for: engine), kernelRequests: kernelRequests(for: engine.rules), pcap: settings.pcap, dispatcher: dispatcher)
        // Live only: a replay's addresses were resolved, or not, when it was recorded.
        let resolver = NameResolver(names: replay == nil ? engine.namesToResolve : [])
        resolver.start()
        defer { resolver.stop() }
        let signals = handleSignals(stopping: sensor, onHangup: dispatcher.reopenAll)
        var sensorError: Error?
        do {
            try sensor.run { event in engine.process(event, emit: dispatcher.dispatch) }
        } catch {
            sensorError = error
        }
        signals.forEach { $0.cancel() }
        let unsaved = persistentRules.flatMap { $0.saveState() }
        unsaved.forEach { printError("sentinel: \($0)") }
        for rule in engine.rules {
            guard let bosc = rule.builtin as? BoSCRule, bosc.unattributedCalls > 0 else { continue }
            printError("sentinel: rule \"\(rule.name)\": \(bosc.unattributedCalls) system calls not judged: their container's image was not known yet")
        }
        try finish(engine: engine, sensor: sensor, dispatcher: dispatcher, sensorError: sensorError)
        if !unsaved.isEmpty { throw ExitStatus.failure }
    }

    // MARK: - Steps, in order

    private func loadSettings() throws -> Config {
        var settings = Config()
        if let config {
            let diagnostics = Diagnostics()
            guard let loaded = Config.load(path: config, diagnostics: diagnostics) else {
                printDiagnostics(diagnostics.all)
                throw ExitStatus.badInput
            }
            settings = loaded
        }
        if !rules.isEmpty { settings.rulePaths = rules }
        if let minPriority { settings.minimumPriority = minPriority }
        if settings.rulePaths.isEmpty {
            printError("sentinel: no rules: give --rules DIR (or \"rules\" in the config file)")
            throw ExitStatus.badInput
        }
        return settings
    }


    /// Loads what rules learnt in earlier runs, each rule from its own folder of the state
    /// directory: `<state-dir>/rules/<rule name>/`.
    private func openState(of rules: [CompiledRule]) throws -> [PersistentRule] {
        let persistent = rules.compactMap { rule in (rule.builtin as? PersistentRule).map { (rule.name, $0) } }
        guard let base = stateDirectory ?? (replay == nil ? Run.defaultStateDirectory : nil) else { return persistent.map(\.1) }
        let diagnostics = Diagnostics()
        for (name, rule) in persistent {
            if let bosc = rule as? BoSCRule { bosc.notice = { printError("sentinel: rule \"\(name)\": \($0)") } }
            do {
                try rule.openState(directory: "\(base)/rules/\(fileNameSafe(name))", diagnostics: diagnostics)
            } catch {
                printError("sentinel: \(error)")
                throw ExitStatus.badInput
            }
        }
        if !diagnostics.all.isEmpty {
            printDiagnostics(diagnostics.all)
            printError("sentinel: the state directory \(base) has files that cannot be read; move them away or fix them")
            throw ExitStatus.badInput
        }
        return persistent.map(\.1)
    }

    private func appendingOutput(to rules: [CompiledRule]) throws -> [CompiledRule] {
        guard let appendOutput else { return rules }
        let diagnostics = Diagnostics()
        let extra = OutputTemplate.compile(ConditionOrigin(text: appendOutput, file: "--append-output"), diagnostics: diagnostics)
        if !diagnostics.all.isEmpty {
            printDiagnostics(diagnostics.all)
            throw ExitStatus.badInput
        }
        return rules.map { $0.appendingOutput(extra) }
    }

    private func startOutputs(_ settings: Config) -> AlertDispatcher {
        var sinks = settings.outputs
        if let output {
            let format: AlertFormat = output == .json ? .json : .text
            sinks.removeAll { $0.sink is StdoutSink }
            sinks.append((StdoutSink(format: format), .debug))
        } else if !settings.hasOutputs {
            sinks.append((StdoutSink(format: .text), .debug))
        }
        return AlertDispatcher(sinks: sinks) { message in printError("sentinel: \(message)") }
    }

    /// Live, `bosc` rules have the kernel stream their containers' calls or judge them there.
    private func kernelRequests(for rules: [CompiledRule]) -> KernelRequests? {
        let bosc = rules.compactMap { $0.builtin as? BoSCRule }
        guard replay == nil, !bosc.isEmpty else { return nil }
        let requests = KernelRequests()
        for rule in bosc { rule.kernel = requests }
        return requests
    }

    private func makeSensor(gathering wanted: ProbeSelection, kernelRequests: KernelRequests?,
                            pcap: PcapSensor.Options, dispatcher: AlertDispatcher) throws -> Sensor {
        guard let replay else {
            return try live.makeSensor(gathering: wanted, kernelRequests: kernelRequests, pcap: pcap, onDrop: dispatcher.dispatch)
        }
        return ReplaySensor(path: replay) { diagnostic in printError(diagnostic.description) }
    }

    private func finish(engine: Engine, sensor: Sensor, dispatcher: AlertDispatcher, sensorError: Error?) throws {
        let drained = dispatcher.drain(timeout: 30)
        let sensorStatistics = sensor.statistics
        printError("sentinel: \(sensor.label): \(sensorStatistics.delivered) events delivered, \(sensorStatistics.dropped) dropped; "
                   + "engine: \(engine.statistics.events) events, \(engine.statistics.alerts) alerts")
        var lost = false
        for output in dispatcher.statistics {
            printError("sentinel: output \(output.label): \(output.delivered) delivered, \(output.dropped) dropped, \(output.failed) failed")
            lost = lost || output.dropped > 0 || output.failed > 0
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
