import BoSC
import Dispatch
import Engine
import Outputs
import Rules
import Sensors
import SentinelJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP's reload: the config and the rule files are read anew and checked whole on a queue of
/// their own while the rules in force go on judging; only a loadout without an error is swapped
/// in, on the engine's thread between two events (the sensor's `between`), so that no event is
/// lost or judged twice. On any error the rules in force stay, and the errors go to stderr and,
/// as an alert of source `sentinel`, to the outputs.
///
/// A rule whose identity (its condition, output, priority, tags, type and parameters: not where
/// its file put it) did not change is the same rule after the reload, with its state (BoSC's
/// profiles, a threshold's counts) and its alert count. An output whose settings did not change
/// keeps its queue and connection. A new stateful rule opens its state before the swap; one that
/// goes saves its state during it.
///
/// A live run's probes follow: the families the new rules need and the old did not are loaded
/// (the verifier's pass) while the old rules judge, and attached at the swap; the settings the
/// probes read (which calls to stream or capture, the environment) are rewritten there, and the
/// families no rule needs any more detach. A family the kernel refuses refuses the reload.
final class Reloader: @unchecked Sendable {
    struct Status: Sendable {
        /// 1 for the loadout the run started with; one more at each reload that took.
        var generation = 1
        var lastSucceeded = true
        /// Wall-clock seconds of the last attempt; 0 before any.
        var lastAttempt: Double = 0
        /// How long judging stopped for the last swap.
        var lastPauseSeconds: Double = 0
    }

    /// A loadout read and checked, waiting for the engine's thread. Made on the reload queue and
    /// handed over whole through `prepared`: neither side touches it while the other may.
    private struct Prepared: @unchecked Sendable {
        var index: RuleIndex
        var outputs: [OutputSpec]
        var plan: [AlertDispatcher.Reconfigured]
        var leaving: [(name: String, rule: StatefulRule)]
        /// What the probes gather from the swap on, and the families loaded for it.
        var probes: (selection: ProbeSelection, loaded: LoadedFamilies)?
        var summary: String
        var readSeconds: Double
    }

    private let source: LoadoutSource
    private let engine: Engine
    private let dispatcher: AlertDispatcher
    private let stateDirectory: String?
    private let kernel: KernelRequests?
    /// A live run's probes; nil for a replay.
    private let probes: ProbeTuner?
    private let queue = DispatchQueue(label: "sentinel.reload")
    private let prepared = Mutex<Prepared?>(nil)
    private let hasPrepared = Atomic<Bool>(false)
    /// The outputs' specs in force, in the dispatcher's order.
    private let outputsInForce: Mutex<[OutputSpec]>
    private let currentStatus = Mutex(Status())

    var status: Status { currentStatus.withLock { $0 } }

    init(source: LoadoutSource, engine: Engine, outputs: [OutputSpec], dispatcher: AlertDispatcher, stateDirectory: String?,
         kernel: KernelRequests?, probes: ProbeTuner?) {
        self.source = source
        self.engine = engine
        self.dispatcher = dispatcher
        self.stateDirectory = stateDirectory
        self.kernel = kernel
        self.probes = probes
        outputsInForce = Mutex(outputs)
    }

    /// From the signal handler's queue: reads the loadout off the engine's thread.
    func request() {
        queue.async { [self] in prepare() }
    }

    // MARK: - Off the engine's thread

    private func prepare() {
        // One swap at a time: a second SIGHUP reads what the first put in force.
        while hasPrepared.load(ordering: .acquiring) { usleep(10_000) }
        let started = monotonicSeconds()
        currentStatus.withLock { $0.lastAttempt = Double(wallClockNow()) / 1e9 }
        let loadout: Loadout
        do {
            loadout = try source.read()
        } catch {
            refuse(error.diagnostics, summary: error.summary)
            return
        }
        printDiagnostics(loadout.warnings)

        let inForce = Dictionary(engine.currentRules.map { ($0.identity, $0) }, uniquingKeysWith: { first, _ in first })
        let rules = loadout.rules.map { inForce[$0.identity] ?? $0 }
        let staying = Set(rules.map(ObjectIdentifier.init))
        let arriving = rules.filter { inForce[$0.identity] !== $0 }
        let stateDiagnostics = Diagnostics()
        let arrivingStateful = statefulRules(in: arriving)
        do {
            try openRuleState(of: arrivingStateful, under: stateDirectory, diagnostics: stateDiagnostics)
        } catch {
            stateDiagnostics.add(Diagnostic(file: stateDirectory ?? "", location: nil, path: "", message: "\(error)"))
        }
        if let kernel { for (_, rule) in arrivingStateful { rule.attach(to: kernel) } }
        if !stateDiagnostics.all.isEmpty {
            refuse(stateDiagnostics.all, summary: "the state directory has files that cannot be read")
            return
        }
        let leaving = statefulRules(in: engine.currentRules.filter { !staying.contains(ObjectIdentifier($0)) })

        let oldOutputs = outputsInForce.withLock { $0 }
        var plan: [AlertDispatcher.Reconfigured] = []
        var taken = Set<Int>()
        var openFailures: [Diagnostic] = []
        for spec in loadout.outputs {
            if let index = oldOutputs.indices.first(where: { !taken.contains($0) && oldOutputs[$0].sink.isSame(as: spec.sink) }) {
                taken.insert(index)
                plan.append(.keep(index: index, filter: spec.filter))
                continue
            }
            do { plan.append(.add(sink: try spec.open(), filter: spec.filter)) } catch { openFailures.append(error) }
        }
        if !openFailures.isEmpty {
            refuse(openFailures, summary: nil)
            return
        }

        let index = RuleIndex(rules: rules)
        var summary = "\(rules.count) rules (\(rules.count - arriving.count) kept, \(arriving.count) new, "
            + "\(engine.currentRules.count - (rules.count - arriving.count)) gone), \(loadout.outputs.count) outputs "
            + "(\(taken.count) kept, \(loadout.outputs.count - taken.count) new, \(oldOutputs.count - taken.count) gone)"
        var retuned: (selection: ProbeSelection, loaded: LoadedFamilies)?
        if let probes {
            let selection = probes.live.probes(for: index, withKernelRequests: !statefulRules(in: rules).isEmpty)
            do {
                retuned = (selection, try probes.sensors.probes.prepareGathering(selection))
            } catch {
                refuse([Diagnostic(file: "", location: nil, path: "", message: "\(error)")], summary: "the probes the new rules need cannot be loaded")
                return
            }
            if !probes.sensors.capturing && !index.neededEventTypes.isDisjoint(with: EventType.messages) {
                summary += "; warning: application messages are captured only when the run starts with a rule on them: "
                    + "restart sentinel to capture them, until then the rules on them see none"
            }
        }
        prepared.withLock {
            $0 = Prepared(index: index, outputs: loadout.outputs, plan: plan, leaving: leaving, probes: retuned, summary: summary,
                          readSeconds: monotonicSeconds() - started)
        }
        hasPrepared.store(true, ordering: .releasing)
    }

    private func refuse(_ diagnostics: [Diagnostic], summary: String?) {
        printDiagnostics(diagnostics)
        let errors = diagnostics.filter { $0.severity == .error }
        let what = summary ?? "\(errors.count) error(s)"
        printError("sentinel: reload refused: \(what); the rules and outputs in force stay")
        currentStatus.withLock { $0.lastSucceeded = false }
        let first = errors.first?.description.split(separator: "\n").first.map(String.init) ?? what
        dispatcher.dispatch(Alert(time: wallClockNow(), rule: "Reload refused", priority: .error,
                                  output: "sentinel could not reload its rules and config (\(what)); those in force stay. First: \(first)",
                                  outputFields: [Alert.Field(name: "sentinel.reload_errors", value: .number(Int64(errors.count)))],
                                  tags: ["sentinel", "reload"], source: "sentinel"))
    }

    // MARK: - On the engine's thread

    /// Swaps in a prepared loadout, if one waits: call it between two events.
    func applyPrepared() {
        guard hasPrepared.load(ordering: .acquiring), let next = prepared.withLock({ $0.take() }) else { return }
        let pauseStarted = monotonicSeconds()
        for (name, rule) in next.leaving {
            for problem in rule.saveState() { printError("sentinel: rule \"\(name)\": \(problem)") }
        }
        var summary = next.summary
        if let probes, let (selection, loaded) = next.probes {
            let before = probes.sensors.probes.attachedFamilies
            for problem in probes.sensors.probes.applyGathering(selection, loaded: loaded) { printError("sentinel: reload: \(problem)") }
            let after = probes.sensors.probes.attachedFamilies
            if after != before { summary += "; probes attached: \(after.joined(separator: ", ")) (were \(before.joined(separator: ", ")))" }
        }
        engine.replaceRules(with: next.index)
        dispatcher.reconfigure(next.plan)
        let pause = monotonicSeconds() - pauseStarted
        outputsInForce.withLock { $0 = next.outputs }
        currentStatus.withLock { status in
            status.generation += 1
            status.lastSucceeded = true
            status.lastPauseSeconds = pause
        }
        hasPrepared.store(false, ordering: .releasing)
        printError("sentinel: reloaded: \(summary); read in \(milliseconds(next.readSeconds)) ms, judging paused \(milliseconds(pause)) ms")
    }
}

/// A live run's probes, as a reload retunes them to its rules.
struct ProbeTuner {
    let sensors: LiveSensors
    /// The command line's say in what is gathered (the host).
    let live: LiveOptions
}

/// Milliseconds to the microsecond: a swap takes well under one.
private func milliseconds(_ seconds: Double) -> String {
    String((seconds * 1_000_000).rounded() / 1000)
}
