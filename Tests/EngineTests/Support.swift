@testable import Engine
import SentinelJSON

/// Compiles a condition (no macros) or fails the test with the diagnostics.
func compile(_ text: String) throws -> CompiledCondition {
    let diagnostics = Diagnostics()
    let expression = try ConditionParser.parse(ConditionOrigin(text: text))
    guard let condition = ConditionCompiler.compile(expression, diagnostics: diagnostics) else {
        throw DiagnosticsError(diagnostics.all)
    }
    return condition
}

/// The first diagnostic compiling `text` gives, as a user would read it.
func compileError(_ text: String) -> String? {
    do {
        _ = try compile(text)
        return nil
    } catch let error as ConditionError {
        return error.diagnostic.message
    } catch let error as DiagnosticsError {
        return error.diagnostics.first?.message
    } catch {
        return "\(error)"
    }
}

/// An engine fed with events; each `matches` asks whether a condition holds on the last event.
final class Harness {
    let engine = Engine(rules: [])
    private(set) var last: EventContext?

    @discardableResult
    func feed(_ event: Event) -> EventContext {
        engine.process(event) { _ in }
        let process = event.type == .container ? nil : engine.processes[event.pid]
        let container = process?.container ?? engine.containers.record(for: event.containerID ?? "host")
        let context = EventContext(event: event, process: process, container: container, number: engine.statistics.events)
        last = context
        return context
    }

    func matches(_ condition: String) throws -> Bool {
        try compile(condition).matches(last!)
    }
}

func exec(_ pid: Int64, ppid: Int64, _ exe: String, _ args: [String], container: String? = nil, uid: Int64? = 0, time: UInt64 = 1) -> Event {
    Event(type: .execve, time: time, pid: pid, ppid: ppid, containerID: container,
          process: ProcessFacts(exePath: exe, args: args, uid: uid))
}

func clone(_ pid: Int64, parent: Int64, container: String? = nil, time: UInt64 = 1) -> Event {
    Event(type: .clone, time: time, pid: pid, ppid: parent, containerID: container)
}
