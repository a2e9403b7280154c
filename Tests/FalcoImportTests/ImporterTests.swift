import FalcoImport
import Rules
import SentinelJSON
import Testing
#if canImport(Glibc)
import Glibc
#endif

let fixtures: String = {
    var path = #filePath
    path = String(path[..<path.lastIndex(of: "/")!])
    return path + "/Fixtures"
}()

/// Each directory of Fixtures is one import: its YAML files, in name order, go in; `expected.txt`
/// holds what must come out: the messages as `sentinel rules import` prints them, then each JSON
/// file written, after a `=== PATH` line. `SENTINEL_UPDATE_GOLDEN=1 swift test` rewrites them
/// (read the difference before committing it).
@Suite struct ImporterGoldenTests {
    static let cases = listDirectory(fixtures).filter { !$0.hasPrefix(".") }.sorted()

    @Test func everyKindOfCaseIsThere() {
        #expect(Self.cases == ["bad-yaml", "load-errors", "not-carried", "semantics"])
    }

    @Test(arguments: cases)
    func importsAsExpected(name: String) throws {
        let directory = fixtures + "/" + name
        let (result, printed) = try importFixture(directory)
        let expectedPath = directory + "/expected.txt"
        if getenv("SENTINEL_UPDATE_GOLDEN") != nil {
            _ = replaceFileAtomically(expectedPath, with: Array(printed.utf8))
        }
        let expected = String(decoding: try #require(readWholeFile(expectedPath)), as: UTF8.self)
        #expect(printed == expected)
        if !result.hasErrors {
            // What is written loads, and keeps every carried rule with its priority and tags.
            let ruleSet = try RuleLoader.load(sources: result.outputs.map { JSONSource(name: $0.path, bytes: $0.bytes) })
            #expect(ruleSet.summaries.count == result.counts.map(\.rulesCarried).reduce(0, +))
        }
    }

    @Test func theLocalFilesChangesFoldIntoTheRulesTheyChange() throws {
        let (result, _) = try importFixture(fixtures + "/semantics")
        let ruleSet = try RuleLoader.load(sources: result.outputs.map { JSONSource(name: $0.path, bytes: $0.bytes) })
        let shell = try #require(ruleSet.summaries.first { $0.name == "Shell in container" })
        #expect(shell.priority == .warning)
        #expect(shell.tags == ["container", "shell", "mitre_execution", "local"])
        let sensitive = try #require(ruleSet.summaries.first { $0.name == "Read sensitive file" })
        #expect(sensitive.priority == .critical)
        #expect(!sensitive.enabled)
        #expect(!ruleSet.summaries.contains { $0.name == "K8s audit rule" })
        #expect(ruleSet.summaries.first { $0.name == "Local rule" }?.file == "out/2-local.json")
    }
}

/// Imports a fixture directory as the command would, and prints what the command prints.
func importFixture(_ directory: String) throws -> (FalcoImporter.Result, String) {
    var inputs: [FalcoImporter.Input] = []
    for file in listDirectory(directory).filter({ $0.hasSuffix(".yaml") }).sorted() {
        let bytes = try #require(readWholeFile(directory + "/" + file))
        inputs.append(FalcoImporter.Input(name: file, text: String(decoding: bytes, as: UTF8.self)))
    }
    let result = FalcoImporter.convert(inputs, outputDirectory: "out")
    var printed = result.diagnostics.map { $0.description + "\n" }.joined()
    for (input, counts) in zip(inputs, result.counts) {
        printed += counts.line(for: input.name) + "\n"
    }
    for output in result.outputs {
        printed += "=== \(output.path)\n" + String(decoding: output.bytes, as: UTF8.self)
    }
    return (result, printed)
}
