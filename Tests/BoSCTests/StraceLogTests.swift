import Engine
import Testing
@testable import BoSC

@Suite struct StraceLogTests {
    @Test func everyFormOfLineIsRead() {
        var lines: [StraceLog.Line] = []
        let problem = StraceLog.read(path: fixtures + "/formats.strace") { if $0 != .other { lines.append($0) } }
        #expect(problem == nil)
        #expect(lines == [
            .call(thread: 1201, number: 59), .call(thread: 1201, number: 12), .call(thread: 1201, number: 0),
            .call(thread: 1201, number: 56), .call(thread: 1202, number: 39), .call(thread: 1201, number: 61),
            .call(thread: 1202, number: 1), .call(thread: 1202, number: 231), .exit(thread: 1202),
            .call(thread: 1203, number: 257), .call(thread: 0, number: 0x1c6), .exit(thread: 1201),
        ])
    }

    /// A 32-bit program's calls are i386's, numbered apart and named so: once strace says a thread
    /// runs 32-bit code its `read` is i386's (3), not x86_64's (0); a name only i386 has
    /// (`fstat64`) is i386's in any thread.
    @Test func aThirtyTwoBitProgramsCallsAreI386s() {
        var calls: [String] = []
        let problem = StraceLog.read(path: fixtures + "/i386.strace") { line in
            if case .call(let thread, let number) = line { calls.append("\(thread) \(SystemCallNames.name(of: number))") }
        }
        #expect(problem == nil)
        #expect(calls == ["300 execve", "300 i386:brk", "300 i386:mmap2", "300 i386:read", "300 i386:stat64", "300 i386:socketcall",
                          "301 read", "301 i386:fstat64", "300 read"])
        let base = SystemCallNames.i386Base
        #expect(SystemCallNames.number(named: "i386:read") == base + 3 && SystemCallNames.number(named: "read") == 0)
        #expect(SystemCallNames.name(of: base + 192) == "i386:mmap2")
        #expect(storedCall(base + 195) != storedCall(4), "i386's stat64 and x86_64's stat are binned apart")
    }

    @Test func anUnknownCallIsAnErrorWithItsPlace() throws {
        let problem = try #require(StraceLog.read(path: fixtures + "/bad-call.strace") { _ in })
        #expect(problem.description.hasPrefix(fixtures + "/bad-call.strace:2:7: unknown system call \"frobnicate\""))
    }
}
