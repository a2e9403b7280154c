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
        #expect(families([EventType(name: "unlinkat")!]) == ["process", "syscall_results"])
        #expect(families(Set(EventType.allCases)) == ProbeFamily.all.map(\.name))
    }

    /// The exits syscall_results.bpf.c reads, as its bitmap holds them.
    func exits(_ settings: sentinel_settings) -> Set<Int> {
        withUnsafeBytes(of: settings.exit_numbers) { words in
            Set((0..<Int(SENTINEL_CALL_NUMBERS)).filter { words.load(fromByteOffset: $0 / 64 * 8, as: UInt64.self) >> UInt64($0 % 64) & 1 == 1 })
        }
    }

    @Test func onlyTheWantedCallsAreRead() {
        let opens = ProbeSelection(eventTypes: [.openat], includeHost: false)
        #expect(exits(opens.settings) == [2, 257, 437] && opens.config.include_host == 0 && opens.settings.track_connections == 0)
        let closes = ProbeSelection(eventTypes: [.close], includeHost: true)
        #expect(exits(closes.settings) == [42, 43, 288, 50] && closes.config.include_host == 1, "a close needs the connection seen open")
        #expect(closes.settings.track_connections == 1)
        #expect(exits(ProbeSelection(eventTypes: [.execve], includeHost: false).settings).isEmpty)
        let unlinks = ProbeSelection(eventTypes: [EventType(name: "unlinkat")!, EventType(name: "setuid")!], includeHost: false)
        #expect(exits(unlinks.settings) == [263, 105])
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
