import Engine
import Outputs
import Rules
import SentinelJSON

/// What a run judges with and writes to, as the config file, the rule files and the command line
/// say together: read when the run starts, and again at each reload.
struct Loadout {
    var settings: Config
    /// Compiled, with the command line's `--append-output` appended.
    var rules: [CompiledRule]
    /// The outputs to open, the command line's stdout among them.
    var outputs: [OutputSpec]
    var warnings: [Diagnostic]
}

/// Every problem that kept a loadout from being read, located.
struct LoadoutError: Error {
    var diagnostics: [Diagnostic]
    /// A last line for stderr ("3 error(s) in the rule set"), when the diagnostics want one.
    var summary: String?
}

/// Where a loadout comes from: the config file, and what the command line sets over it.
struct LoadoutSource: Sendable {
    var configPath: String?
    /// `--rules`: replaces the config's.
    var rulePaths: [String]
    /// `--min-priority`: replaces the config's.
    var minimumPriority: Priority?
    /// `-o`: replaces the config's stdout outputs, or adds one.
    var stdoutFormat: AlertFormat?
    /// `--append-output`.
    var appendOutput: String?

    func read() throws(LoadoutError) -> Loadout {
        var settings = Config()
        if let configPath {
            let diagnostics = Diagnostics()
            guard let loaded = Config.load(path: configPath, diagnostics: diagnostics) else { throw LoadoutError(diagnostics: diagnostics.all) }
            settings = loaded
        }
        if !rulePaths.isEmpty { settings.rulePaths = rulePaths }
        if let minimumPriority { settings.minimumPriority = minimumPriority }
        if settings.rulePaths.isEmpty {
            throw LoadoutError(diagnostics: [], summary: "no rules: give --rules DIR (or \"rules\" in the config file)")
        }
        let ruleSet: RuleSet
        do {
            ruleSet = try RuleLoader.load(paths: settings.rulePaths, minimumPriority: settings.minimumPriority)
        } catch {
            throw LoadoutError(diagnostics: error.diagnostics,
                               summary: "\(error.diagnostics.filter { $0.severity == .error }.count) error(s) in the rule set")
        }
        var rules = ruleSet.rules
        if let appendOutput {
            let diagnostics = Diagnostics()
            let extra = OutputTemplate.compile(ConditionOrigin(text: appendOutput, file: "--append-output"), diagnostics: diagnostics)
            if !diagnostics.all.isEmpty { throw LoadoutError(diagnostics: diagnostics.all) }
            rules = rules.map { $0.appendingOutput(extra) }
        }
        var outputs = settings.outputs
        if let stdoutFormat {
            outputs.removeAll { $0.sink is StdoutSink.Spec }
            outputs.append(OutputSpec(sink: StdoutSink.Spec(format: stdoutFormat)))
        } else if !settings.hasOutputs {
            outputs.append(OutputSpec(sink: StdoutSink.Spec()))
        }
        return Loadout(settings: settings, rules: rules, outputs: outputs, warnings: ruleSet.warnings)
    }
}
