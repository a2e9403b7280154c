import ArgumentParser
import Engine
import Rules
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct Sentinel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sentinel",
        abstract: "Runtime security monitor for Docker containers.",
        discussion: """
        Judges container events (process, network, file, system call) with JSON rules and raises \
        alerts to stdout, files, syslog, HTTP collectors and programs.

          sentinel --rules DIR [--replay FILE] [--config FILE] [-o json]

        runs the monitor (the `run` command, the default): live, as root, without --replay. \
        `sentinel run --help` explains its options; `sentinel record --out FILE` records live events.
        """,
        version: sentinelVersion,
        subcommands: [Run.self, Record.self, RulesCommand.self, Fields.self, BoSCCommand.self, Check.self, Version.self],
        defaultSubcommand: Run.self
    )

    /// Errors print to stderr and exit 2; a command that has already said what went wrong throws
    /// `ExitStatus` with the status it wants.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let status as ExitStatus {
            Glibc.exit(status.code)
        } catch {
            if exitCode(for: error) == .success {
                exit(withError: error)
            }
            printError(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

/// Thrown once a command has reported its problem, to exit with `code`.
struct ExitStatus: Error {
    let code: Int32

    /// Bad input: rules, config, arguments, recordings.
    static let badInput = ExitStatus(code: 2)
    /// Done, and well: for a command that ends early on purpose (`--dry-run`).
    static let success = ExitStatus(code: 0)
    /// The run finished but lost something (alerts not delivered) or a rule test failed.
    static let failure = ExitStatus(code: 1)
}

func printError(_ message: String) {
    writeText(message.hasSuffix("\n") ? message : message + "\n", to: STDERR_FILENO)
}

/// Loads a rule set and prints its warnings; with errors, prints them all and exits 2.
func loadRuleSet(_ paths: [String], minimumPriority: Priority = .debug) throws -> RuleSet {
    do {
        let ruleSet = try RuleLoader.load(paths: paths, minimumPriority: minimumPriority)
        printDiagnostics(ruleSet.warnings)
        return ruleSet
    } catch {
        printDiagnostics(error.diagnostics)
        printError("sentinel: \(error.diagnostics.filter { $0.severity == .error }.count) error(s) in the rule set")
        throw ExitStatus.badInput
    }
}

func printDiagnostics(_ diagnostics: [Diagnostic]) {
    for diagnostic in diagnostics { printError(diagnostic.description) }
}

/// Writes straight to the descriptor, unbuffered, as the stdout output does: lines keep their order.
func printLine(_ text: String) {
    writeText(text + "\n", to: STDOUT_FILENO)
}

private func writeText(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

extension Priority: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.ruleName) }
}
