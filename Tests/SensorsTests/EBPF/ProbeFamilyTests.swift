import CLibbpf
import Engine
import Testing
@testable import Sensors

/// The rules' event types decide which probe families load and which of their switches are on.
@Suite struct ProbeFamilyTests {
    func families(_ types: Set<EventType>) -> [String] { ProbeFamily.needed(for: types).map(\.name) }

    @Test func theProcessFamilyAlwaysLoadsAndTheOthersWhenNeeded() {
        #expect(families([]) == ["process"])
        #expect(families([.execve]) == ["process"])
        #expect(families([.openat]) == ["process", "syscall_results"])
        #expect(families([.close]) == ["process", "syscall_results", "tcp"], "a close's counters need the connection seen open")
        #expect(families([.syscall]) == ["process", "syscalls"])
        #expect(families([.segment]) == ["process", "segments"])
        #expect(families([EventType(name: "unlinkat")!]) == ["process", "calls"])
        #expect(families(Set(EventType.allCases)) == ProbeFamily.all.map(\.name))
    }

    @Test func onlyTheWantedSwitchesAreOn() {
        let opens = ProbeSelection(eventTypes: [.openat], includeHost: false).config
        #expect(opens.want_opens == 1 && opens.want_sockets == 0)
        let closes = ProbeSelection(eventTypes: [.close], includeHost: true).config
        #expect(closes.want_opens == 0 && closes.want_sockets == 1 && closes.include_host == 1)
        let processes = ProbeSelection(eventTypes: [.execve], includeHost: false).config
        #expect(processes.want_opens == 0 && processes.want_sockets == 0)
    }

    /// Every event type the kernel's records become is some family's: a type no family lists
    /// would never be sent, whatever the rules say. Messages come from packet capture, container
    /// and procinfo events from Docker and /proc.
    @Test func everyKernelEventTypeHasAFamily() {
        let fromElsewhere: Set<EventType> = EventType.messages.union([.container, .procinfo])
        let covered = ProbeFamily.all.reduce(into: Set<EventType>()) { $0.formUnion($1.eventTypes) }
        #expect(Set(EventType.allCases).subtracting(fromElsewhere).subtracting(covered).isEmpty)
    }
}
