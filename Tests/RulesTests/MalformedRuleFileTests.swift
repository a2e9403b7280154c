import Testing
import Rules
import SentinelJSON

/// Each fixture in Fixtures/malformed is a broken rule file; its `.expected` file holds exactly the
/// errors sentinel must print for it (`sentinel rules validate NAME.json`, run in that directory).
@Suite struct MalformedRuleFileTests {
    static let cases = directoryEntries(fixtures + "/malformed", suffix: ".json")

    @Test func thereAreAtLeastThirtyCases() {
        #expect(Self.cases.count >= 30)
    }

    @Test(arguments: cases)
    func reportsThePreciseError(file: String) throws {
        let bytes = try #require(readWholeFile(fixtures + "/malformed/" + file))
        let expectedBytes = try #require(readWholeFile(fixtures + "/malformed/" + file.replacingSuffix(".json", with: ".expected")))
        let expected = String(decoding: expectedBytes, as: UTF8.self)
        do {
            _ = try RuleLoader.load(sources: [JSONSource(name: file, bytes: bytes)])
            Issue.record("\(file) loaded without an error")
        } catch {
            let printed = error.diagnostics.map(\.description).joined(separator: "\n") + "\n"
            #expect(printed == expected)
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
