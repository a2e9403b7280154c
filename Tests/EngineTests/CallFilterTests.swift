import Testing
@testable import Engine

@Suite struct CallFilterTests {
    func filter(_ call: String, _ conditions: String...) throws -> CallFilter? {
        let call = try #require(CapturedCall.all.first { $0.name == call })
        return CallFilter.narrowing(call, for: try conditions.map(compile))
    }

    @Test func aValueEveryRuleAsksForNarrowsTheCall() throws {
        #expect(try filter("socket", "evt.type = socket and evt.arg.domain = AF_PACKET") == CallFilter(slot: .argument(0), values: [17]))
        // Two rules: either's values.
        #expect(try filter("setuid", "evt.type = setuid and evt.arg.uid = 0", "evt.type = setuid and evt.arg.uid in (33, 0)")
                == CallFilter(slot: .argument(0), values: [0, 33]))
        // The smaller of two constraints; the result is one too.
        #expect(try filter("fcntl", "evt.type = fcntl and evt.arg.cmd in (F_DUPFD, F_DUPFD_CLOEXEC) and evt.rawres in (0, 1, 2)")
                == CallFilter(slot: .argument(1), values: [0, 1030]))
        #expect(try filter("dup", "evt.type in (dup, dup2) and evt.rawres in (0, 1, 2)") == CallFilter(slot: .result, values: [0, 1, 2]))
    }

    /// The branch of an `or` that cannot be true of the call (another type, an argument it lacks)
    /// leaves the other's values.
    @Test func aBranchForAnotherCallDoesNotWidenIt() throws {
        let condition = "(evt.type in (dup, dup2) or (evt.type = fcntl and evt.arg.cmd = F_DUPFD)) and evt.rawres in (0, 1, 2)"
        #expect(try filter("fcntl", condition) == CallFilter(slot: .argument(1), values: [0]))
        #expect(try filter("dup", condition) == CallFilter(slot: .result, values: [0, 1, 2]))
        #expect(try filter("fcntl", "evt.type = fcntl and (evt.arg.cmd = F_DUPFD or evt.arg.newfd = 1)") == CallFilter(slot: .argument(1), values: [0]))
    }

    @Test func whatCouldMatchAnyValueIsNotNarrowed() throws {
        #expect(try filter("socket", "evt.type = socket") == nil)
        #expect(try filter("socket", "evt.type = socket and evt.arg.domain = AF_PACKET", "evt.type = socket and container.id != host") == nil)
        #expect(try filter("socket", "evt.type = socket and not evt.arg.domain = AF_INET") == nil)
        #expect(try filter("socket", "evt.type = socket and (evt.arg.domain = AF_PACKET or proc.name = nc)") == nil)
        #expect(try filter("socket", "evt.type = socket and evt.arg.domain != AF_INET") == nil)
        // Flags are compared by name, not value; more values than the kernel holds.
        #expect(try filter("unlinkat", "evt.type = unlinkat and evt.arg.flags = AT_REMOVEDIR") == nil)
        #expect(try filter("setuid", "evt.type = setuid and evt.arg.uid in (0, 1, 2, 3, 4, 5, 6, 7, 8)") == nil)
        // A test applied to types it does not name.
        #expect(CallFilter.narrowing(CapturedCall.all[0], for: [try compile("evt.arg.path = /x").observing([CapturedCall.all[0].eventType])]) == nil)
    }
}
