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

    @Test func anUnknownCallIsAnErrorWithItsPlace() throws {
        let problem = try #require(StraceLog.read(path: fixtures + "/bad-call.strace") { _ in })
        #expect(problem.description.hasPrefix(fixtures + "/bad-call.strace:2:7: unknown system call \"frobnicate\""))
    }
}
