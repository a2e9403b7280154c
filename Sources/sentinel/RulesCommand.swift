import ArgumentParser
import Engine
import FalcoImport
import Rules
import SentinelJSON

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check, list and test rule sets.",
        subcommands: [Validate.self, List.self, Test.self, Import.self]
    )
}

extension RulesCommand {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a rule set and report every error in it (exit 2 if any).")

        @Argument(help: ArgumentHelp("Rules directories or files.", valueName: "dir"))
        var paths: [String]

        func run() throws {
            let ruleSet = try loadRuleSet(paths)
            let enabled = ruleSet.summaries.filter(\.enabled).count
            printLine("\(ruleSet.files.count) file(s), \(ruleSet.summaries.count) rules (\(enabled) enabled): valid")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rules of a rule set: name, priority, state, event types, tags.")

        @Argument(help: ArgumentHelp("Rules directories or files.", valueName: "dir"))
        var paths: [String]

        func run() throws {
            let ruleSet = try loadRuleSet(paths)
            for rule in ruleSet.summaries {
                let state = rule.enabled ? "enabled " : "disabled"
                let types = rule.eventTypes.map(\.name).joined(separator: ",")
                let kind = rule.builtinType.map { " type=\($0)" } ?? ""
                printLine("\(rule.priority.ruleName.padding(to: 13)) \(state) \(rule.name)  [\(types)]\(kind) tags=\(rule.tags.joined(separator: ","))")
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run rule tests: event streams and the rules that must and must not fire on them.",
            discussion: """
            A test file is JSON: {"setup": [events], "tests": [{"name": "...", "events": [events] or \
            "recording": "file.jsonl", "fire": ["Rule"], "not_fire": ["Rule"], "only": false}]}. \
            Events are in the recording format (see README). Exit 0 when all pass, 1 when one \
            fails, 2 on bad input.
            """
        )

        @Argument(help: ArgumentHelp("The rules directory or file.", valueName: "dir"))
        var rulesPath: String

        @Option(name: .customLong("rules"), help: ArgumentHelp("More rules, loaded after dir in order: a file that tunes the stock rules.", valueName: "path"))
        var laterRules: [String] = []

        @Argument(help: ArgumentHelp("Test files.", valueName: "file"))
        var testFiles: [String]

        func run() throws {
            let ruleSet = try loadRuleSet([rulesPath] + laterRules)
            let diagnostics = Diagnostics()
            let known = Set(ruleSet.summaries.map(\.name))
            var cases: [RuleTestCase] = []
            for file in testFiles {
                if let source = diagnostics.take(JSONSource.load(path: file)) {
                    cases += RuleTests.read(source, knownRules: known, diagnostics: diagnostics)
                }
            }
            if diagnostics.hasErrors {
                printDiagnostics(diagnostics.all)
                throw ExitStatus.badInput
            }
            var failed = 0
            for testCase in cases {
                let result = RuleTests.run(testCase, rules: ruleSet.rules)
                if result.passed {
                    printLine("PASS  \(testCase.file): \(testCase.name)")
                } else {
                    failed += 1
                    printLine("FAIL  \(testCase.file): \(testCase.name)")
                    for failure in result.failures { printLine("      \(failure)") }
                }
            }
            printLine("\(cases.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitStatus.failure }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert Falco's YAML rule files into sentinel's JSON rule files.",
            discussion: """
            The files are read in order with Falco's semantics (a later definition replaces an \
            earlier one; append and override change it; exceptions). DIR gets one NAME.json per \
            NAME.yaml, which load together (sentinel --rules DIR). What sentinel cannot load is left \
            out, with everything that uses it, and listed with its YAML line and why. Exit 0 when \
            the files were written (or, with --check, when everything would be carried), 1 when \
            --check finds something that would be left out, 2 on bad input (nothing written).
            """
        )

        @Argument(help: ArgumentHelp("Falco rule files, in the order Falco would load them.", valueName: "file.yaml"))
        var files: [String]

        @Option(name: .customLong("out"), help: ArgumentHelp("The directory to write into (created if missing).", valueName: "dir"))
        var outputDirectory: String?

        @Flag(help: "Report what would be carried and what not; write nothing.")
        var check = false

        func validate() throws {
            if outputDirectory == nil, !check { throw ValidationError("give --out DIR, or --check") }
        }

        func run() throws {
            var inputs: [FalcoImporter.Input] = []
            var unreadable: [Diagnostic] = []
            for file in files {
                switch JSONSource.load(path: file) {
                case .success(let source): inputs.append(FalcoImporter.Input(name: file, text: String(decoding: source.bytes, as: UTF8.self)))
                case .failure(let problem): unreadable.append(problem)
                }
            }
            if !unreadable.isEmpty {
                printDiagnostics(unreadable)
                throw ExitStatus.badInput
            }
            let directory = outputDirectory ?? "."
            let result = FalcoImporter.convert(inputs, outputDirectory: directory)
            printDiagnostics(result.diagnostics)
            if result.hasErrors {
                printError("sentinel: \(result.diagnostics.filter { $0.severity == .error }.count) error(s); nothing written")
                throw ExitStatus.badInput
            }
            for (input, counts) in zip(inputs, result.counts) { printLine(counts.line(for: input.name)) }
            if check {
                if !result.counts.allSatisfy(\.isComplete) { throw ExitStatus.failure }
                return
            }
            if let error = createDirectories(directory, mode: 0o755) {
                printError("sentinel: \(error)")
                throw ExitStatus.badInput
            }
            for output in result.outputs {
                if let error = replaceFileAtomically(output.path, with: output.bytes) {
                    printError("sentinel: \(error)")
                    throw ExitStatus.failure
                }
                printLine("wrote \(output.path)")
            }
        }
    }
}
