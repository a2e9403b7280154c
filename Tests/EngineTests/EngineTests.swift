import Testing
@testable import Engine
import SentinelJSON

@Suite struct ProcessTableTests {
    @Test func ancestrySurvivesTheParentsExit() throws {
        let harness = Harness()
        harness.feed(exec(10, ppid: 1, "/bin/bash", ["bash"]))
        harness.feed(clone(11, parent: 10))
        harness.feed(Event(type: .procexit, time: 2, pid: 10, payload: .exit(status: 0)))
        harness.feed(exec(11, ppid: 10, "/usr/bin/nc", ["nc", "-l"], time: 2 + ProcessTable.exitGrace))
        #expect(harness.engine.processes[10] == nil, "the exited process leaves the table")
        #expect(try harness.matches("proc.pname = bash and proc.name = nc"))
    }

    @Test func eventsThatArriveAfterTheExitStillFindTheProcess() throws {
        let harness = Harness()
        harness.feed(exec(10, ppid: 1, "/bin/sync", ["sync"]))
        harness.feed(Event(type: .procexit, time: 5, pid: 10, payload: .exit(status: 0)))
        harness.feed(Event(type: .syscall, time: 4, pid: 10, payload: .syscall(number: 162)))
        #expect(try harness.matches("proc.name = sync"), "a batched system call sent after the exit")
        harness.feed(clone(10, parent: 1))
        #expect(harness.engine.processes[10]?.name != "sync", "a new process with the pid is not the exited one")
    }

    /// A health check's process is first read from /proc (runc's init opened a file in the
    /// container) when runc, its parent, is gone; its exec then names the parent.
    @Test func aProcessSeenBeforeItsParentTakesTheParentItsExecNames() throws {
        let harness = Harness()
        harness.feed(Event(type: .procinfo, time: 1, pid: 30060, ppid: 30049, containerID: "c1c1c1c1c1c1c1c1",
                           process: ProcessFacts(name: "runc:[2:INIT]", args: ["runc", "init"])))
        harness.feed(Event(type: .procinfo, time: 2, pid: 30049, ppid: 0, containerID: "host", process: ProcessFacts(name: "runc")))
        harness.feed(exec(30060, ppid: 30049, "/bin/sh", ["sh", "-c", "curl -fsS http://127.0.0.1/"], time: 3))
        #expect(try harness.matches("proc.name = sh and proc.pname = runc and proc.apid[1] = 30049"))
    }

    @Test func cloneInheritsAndExecReplaces() throws {
        let harness = Harness()
        harness.feed(exec(10, ppid: 1, "/usr/sbin/nginx", ["nginx"], container: "c1c1c1c1c1c1c1c1"))
        harness.feed(clone(11, parent: 10))
        #expect(try harness.matches("proc.name = nginx and container.id = c1c1c1c1c1c1"), "a child starts as a copy of its parent")
        harness.feed(exec(11, ppid: 10, "/bin/sh", ["sh", "-c", "id"]))
        #expect(try harness.matches("proc.name = sh and proc.cmdline = \"sh -c id\" and container.id = c1c1c1c1c1c1"))
    }

    @Test func threadsShareTheirProcess() {
        let harness = Harness()
        harness.feed(exec(10, ppid: 1, "/usr/bin/java", ["java"]))
        harness.feed(Event(type: .clone, time: 2, pid: 10, tid: 12, ppid: 1))
        #expect(harness.engine.processes.count == 1)
        harness.feed(Event(type: .procexit, time: 3, pid: 10, tid: 12, payload: .exit(status: 0)))
        #expect(harness.engine.processes[10] != nil, "a thread's exit is not the process's")
    }

    @Test func tableStaysBounded() {
        let table = ProcessTable(capacity: 100)
        let engine = Engine(rules: [], processes: table)
        for pid in 1...1000 {
            engine.process(exec(Int64(pid), ppid: 0, "/bin/true", ["true"], time: UInt64(pid))) { _ in }
        }
        #expect(table.count <= 100)
        #expect(table.evictedCount >= 900)
        #expect(table[1000] != nil, "the newest stay")
    }

    @Test func forkChainsAreCut() {
        let harness = Harness()
        harness.feed(exec(1, ppid: 0, "/bin/sh", ["sh"]))
        for pid in 2...500 { harness.feed(clone(Int64(pid), parent: Int64(pid - 1))) }
        var depth = 0
        var current = harness.engine.processes[500]
        while let record = current?.parent {
            depth += 1
            current = record
        }
        #expect(depth <= ProcessTable.maximumAncestry)
    }
}

@Suite struct EngineTests {
    private func rule(_ name: String, _ condition: String, output: String = "%proc.name") throws -> CompiledRule {
        let diagnostics = Diagnostics()
        let template = OutputTemplate.compile(ConditionOrigin(text: output), diagnostics: diagnostics)
        #expect(!diagnostics.hasErrors)
        return CompiledRule(name: name, priority: .warning, tags: ["t"], condition: try compile(condition), output: template)
    }

    @Test func onlyIndexedRulesSeeAnEvent() throws {
        let engine = Engine(rules: [try rule("exec", "evt.type = execve"), try rule("open", "evt.type = openat")])
        #expect(engine.neededEventTypes == [.execve, .openat])
        var fired: [String] = []
        engine.process(exec(1, ppid: 0, "/bin/sh", ["sh"])) { fired.append($0.rule) }
        #expect(fired == ["exec"])
        #expect(engine.rules.map(\.alerts) == [1, 0])
        #expect(engine.statistics.eventsByType[Int(EventType.execve.rawValue)] == 1 && engine.statistics.events == 1)
    }

    @Test func replacingRulesKeepsWhatTheEngineKnowsOfTheHost() throws {
        let engine = Engine(rules: [try rule("exec", "evt.type = execve")])
        engine.process(exec(1, ppid: 0, "/bin/sh", ["sh"])) { _ in }
        engine.replaceRules(with: RuleIndex(rules: [try rule("child of sh", "evt.type = execve and proc.pname = sh")]))
        var fired: [String] = []
        engine.process(exec(2, ppid: 1, "/usr/bin/id", ["id"])) { fired.append($0.rule) }
        #expect(fired == ["child of sh"], "the process table from before the swap names the parent")
        #expect(engine.currentRules.map(\.name) == ["child of sh"])
        #expect(engine.statistics.events == 2)
    }

    @Test func aContainerGoneLeavesTheTable() throws {
        let engine = Engine(rules: [try rule("named", "evt.type = execve and container.name = web")])
        let id = String(repeating: "ab", count: 32)
        engine.process(Event(type: .container, time: 1, pid: 0, containerID: id, payload: .container(ContainerFacts(name: "web", image: "shop:1")))) { _ in }
        #expect(engine.containers.count == 1)
        var fired: [String] = []
        engine.process(Event(type: .container, time: 2, pid: 0, containerID: id, payload: .container(ContainerFacts(name: "", image: "", removed: true)))) { fired.append($0.rule) }
        #expect(engine.containers.count == 0)
        engine.process(exec(7, ppid: 0, "/bin/sh", ["sh"], container: id)) { fired.append($0.rule) }
        #expect(fired.isEmpty, "a container seen again after it was removed starts with no name")
        #expect(engine.containers.count == 1)
    }

    /// A rule on messages alone still needs the connects and accepts that name their processes.
    @Test func messagesNeedTheirConnectionsOwners() throws {
        let engine = Engine(rules: [try rule("query", "evt.type = mysql")])
        #expect(engine.neededEventTypes == [.mysql, .connect, .accept])
    }

    /// A rule on execs that reads whether the executable was written needs the opens that say so,
    /// though it judges none of them; so does one that only prints it.
    @Test func aFieldLearnedFromOtherEventsAsksForThem() throws {
        let judged = Engine(rules: [try rule("dropped", "evt.type = execve and proc.is_exe_written = true")])
        #expect(judged.neededEventTypes.isSuperset(of: [.execve, .open, .openat, .openat2]))
        let printed = Engine(rules: [try rule("exec", "evt.type = execve", output: "%proc.is_exe_written")])
        #expect(printed.neededEventTypes.isSuperset(of: [.execve, .openat]))
        #expect(Engine(rules: [try rule("exec", "evt.type = execve")]).neededEventTypes == [.execve])
    }

    /// What only some rules read is gathered when one does: the sensors ask the engine.
    @Test func theFieldsTheRulesReadAreKnown() throws {
        #expect(Engine(rules: [try rule("env", "evt.type = execve and proc.env contains LD_PRELOAD=")]).fieldNames.contains("proc.env"))
        #expect(Engine(rules: [try rule("env", "evt.type = execve", output: "%proc.env")]).fieldNames.contains("proc.env"))
        #expect(!Engine(rules: [try rule("exec", "evt.type = execve")]).fieldNames.contains("proc.env"))
    }

    /// A process first seen at a call (its exec was never seen: the runtime's, joining a
    /// container) takes the kernel's name from that call; one whose exec was seen keeps its own.
    @Test func anUnknownProcessIsNamedByTheKernel() throws {
        let engine = Engine(rules: [])
        var facts = ProcessFacts()
        facts.comm = "runc:[2:INIT]"
        engine.process(Event(type: EventType(name: "mount")!, time: 1, pid: 77, containerID: "c0ffee000001", process: facts,
                             payload: .call(CallArguments(values: [0, 0, 0, 0, 0], texts: [nil, nil, nil, nil, nil], result: 0)))) { _ in }
        #expect(engine.processes[77]?.name == "runc:[2:INIT]")
        engine.process(exec(78, ppid: 1, "/bin/busybox", ["sh"])) { _ in }
        facts.comm = "exe"
        engine.process(Event(type: EventType(name: "mount")!, time: 2, pid: 78, process: facts,
                             payload: .call(CallArguments(values: [0, 0, 0, 0, 0], texts: [nil, nil, nil, nil, nil], result: 0)))) { _ in }
        #expect(engine.processes[78]?.name == "busybox")
    }

    @Test func alertsCarryTheRenderedOutputAndFields() throws {
        let engine = Engine(rules: [try rule("r", "evt.type = execve", output: "run %proc.cmdline by %proc.pname at %evt.time (%fd.name)")])
        var alerts: [Alert] = []
        engine.process(exec(1, ppid: 0, "/bin/sh", ["sh", "-c", "echo a\nforged line"], time: 1_795_341_600_123_456_789)) { alerts.append($0) }
        let alert = try #require(alerts.first)
        #expect(alert.output == "run sh -c echo a\\nforged line by <NA> at 2026-11-22T10:00:00.123456789Z (<NA>)")
        #expect(alert.outputFields == [
            Alert.Field(name: "proc.cmdline", value: .string("sh -c echo a\nforged line")),
            Alert.Field(name: "proc.pname", value: .missing),
            Alert.Field(name: "evt.time", value: .number(1_795_341_600_123_456_789)),
            Alert.Field(name: "fd.name", value: .missing),
            // Whatever the output names, the container (here the host's).
            Alert.Field(name: "container.id", value: .string("host")),
            Alert.Field(name: "container.name", value: .string("host")),
        ])
        #expect(alert.priority == .warning && alert.tags == ["t"] && alert.source == "syscall")
    }

    @Test func droppedBinariesAreRecognisedPerContainer() throws {
        let harness = Harness()
        harness.feed(exec(1, ppid: 0, "/bin/sh", ["sh"], container: "aaaaaaaaaaaa"))
        harness.feed(Event(type: .openat, time: 2, pid: 1, payload: .open(path: "/tmp/x", flags: [.writeOnly, .create], result: 3)))
        harness.feed(exec(2, ppid: 1, "/tmp/x", ["x"], container: "aaaaaaaaaaaa"))
        #expect(try harness.matches("proc.is_exe_written = true"))
        harness.feed(exec(3, ppid: 0, "/tmp/x", ["x"], container: "bbbbbbbbbbbb"))
        #expect(try harness.matches("proc.is_exe_written = false"), "written in another container")
    }
}

@Suite struct SupportTests {
    @Test func escapesControlCharacters() {
        #expect(escapeControlCharacters("a\nb\r\tc\u{1b}[31m\u{2028}") == "a\\nb\\r\\tc\\x1b[31m\\u{2028}")
        #expect(escapeControlCharacters("plain é") == "plain é")
        let once = escapeControlCharacters("x\ny")
        #expect(escapeControlCharacters(once) == once)
    }

    @Test func timesRoundTrip() {
        #expect(iso8601(nanoseconds: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(parseISO8601("2026-11-22T10:00:00Z") == 1_795_341_600_000_000_000)
        #expect(parseISO8601("2026-11-22T11:00:00.5+01:00") == 1_795_341_600_500_000_000)
        #expect(parseISO8601("2026-02-30") == nil)
        #expect(parseISO8601("yesterday") == nil)
        #expect(parseISO8601("9999-12-31T23:59:59Z") == nil, "beyond what 64-bit nanoseconds hold")
        let now: UInt64 = 1_795_341_600_987_654_321
        #expect(parseISO8601(iso8601(nanoseconds: now)) == now)
    }

    @Test func priorities() {
        #expect(Priority(name: "warning") == .warning)
        #expect(Priority(name: "INFO") == .informational)
        #expect(Priority(name: "LOUD") == nil)
        #expect(Priority.critical.isAtLeast(.warning))
        #expect(!Priority.notice.isAtLeast(.warning))
    }
}
