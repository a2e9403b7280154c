import BoSC
import Engine
import SentinelJSON
import Testing
@testable import Rules

/// The bosc rule over an engine, as a replay runs it.
@Suite struct BoSCRuleTests {
    static let rules = """
    { "rules": [{ "rule": "Unusual system calls", "desc": "bosc", "type": "bosc", "condition": "container.id != host",
                  "params": { "epoch": 100, "threshold": 10, "min_training_seconds": 0 }, "priority": "CRITICAL" }] }
    """

    /// A container of `image` whose entrypoint (vpid 1) makes `calls` calls of a loop, then exits.
    func containerLifetime(_ number: Int, image: String, calls: Int, time: inout UInt64) -> [Event] {
        let id = String(repeating: String(number), count: 64)
        let pid = Int64(1000 + number)
        var events = [Event(type: .container, time: time, pid: 0, containerID: id, payload: .container(ContainerFacts(name: "c\(number)", image: image))),
                      Event(type: .execve, time: time, pid: pid, ppid: 1, containerID: id, process: ProcessFacts(exePath: "/bin/server", args: ["server"], vpid: 1))]
        for index in 0..<calls {
            time += 1000
            events.append(Event(type: .syscall, time: time, pid: pid, containerID: id, payload: .syscall(number: [0, 1, 3, 232][index % 4])))
        }
        time += 1000
        events.append(Event(type: .procexit, time: time, pid: pid, containerID: id))
        return events
    }

    @Test func containersThatEndedGiveTheirStreamsToTheNext() throws {
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "bosc.json", bytes: Array(Self.rules.utf8))])
        let engine = Engine(rules: ruleSet.rules)
        let rule = try #require(ruleSet.rules.first?.builtin as? BoSCRule)
        var time: UInt64 = 1_700_000_000_000_000_000
        var alerts = 0
        for number in 1...5 {
            for event in containerLifetime(number, image: "app:1", calls: 1000, time: &time) { engine.process(event) { _ in alerts += 1 } }
        }
        #expect(rule.streamCount(ofProfile: "app:1") == 1, "five containers one after another need one stream")
        #expect(alerts == 0)
    }

    @Test func theHostIsNeverProfiledEvenWhenTheConditionSelectsIt() throws {
        let everything = """
        { "rules": [{ "rule": "Unusual system calls", "desc": "bosc", "type": "bosc", "condition": "evt.type = syscall",
                      "params": { "epoch": 100, "threshold": 10, "min_training_seconds": 0 }, "priority": "CRITICAL" }] }
        """
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "bosc.json", bytes: Array(everything.utf8))])
        let engine = Engine(rules: ruleSet.rules)
        let rule = try #require(ruleSet.rules.first?.builtin as? BoSCRule)
        let kernel = KernelRequests()
        rule.attach(to: kernel)
        for index in 0..<500 {
            engine.process(Event(type: .syscall, time: UInt64(index), pid: 1, payload: .syscall(number: 0))) { _ in }
        }
        // The host's calls go back to what signature rules name; none waits for an image.
        #expect(kernel.take() == [.ignore(container: ContainerRecord.hostID)])
        #expect(rule.unattributedCalls == 0)
    }

    @Test func itsPublishedMetricsCountProfilesByPhaseAndEpochsJudged() throws {
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "bosc.json", bytes: Array(Self.rules.utf8))])
        let engine = Engine(rules: ruleSet.rules)
        let rule = try #require(ruleSet.rules.first?.builtin as? BoSCRule)
        var time: UInt64 = 1_700_000_000_000_000_000
        func reading(_ name: String, phase: String? = nil) -> UInt64? {
            rule.metrics.first { $0.name == name && (phase == nil || $0.labels.contains { $0.name == "phase" && $0.value == phase }) }?.value
        }
        for event in containerLifetime(1, image: "app:1", calls: 300, time: &time) { engine.process(event) { _ in } }
        #expect(rule.metrics.isEmpty, "nothing until the engine's thread publishes")
        rule.publishMetrics()
        #expect(reading("bosc_profiles", phase: "training") == 1 && reading("bosc_profiles", phase: "detecting") == 0)
        for number in 2...6 {
            for event in containerLifetime(number, image: "app:1", calls: 1000, time: &time) { engine.process(event) { _ in } }
        }
        rule.publishMetrics()
        #expect(reading("bosc_profiles", phase: "detecting") == 1, "trained and judging: \(rule.metrics.map { ($0.name, $0.value) })")
        #expect((reading("bosc_epochs_judged_total") ?? 0) > 0)
        #expect(reading("bosc_containers") == 0, "every container ended")
    }
}
