import Engine
import Testing
import Rules
import SentinelJSON

/// Random mutations of a stock rule file go through the whole loader (JSON, keys, conditions,
/// exceptions, outputs, thresholds): every outcome is a rule set or located errors, never a crash.
@Suite struct HostileRuleFileTests {
    @Test func mutatedRuleFilesNeverCrash() throws {
        let lists = try #require(readWholeFile(packageRoot + "/rules/00-lists-and-macros.json"))
        let seed = try #require(readWholeFile(packageRoot + "/rules/30-network.json"))
        var random = SplitMix64(seed: 3)
        func next() -> Int { Int(random.next() >> 1) }
        let alphabet = Array("()[]{},:\"\\= .-_0123456789andorin%".utf8)
        var refused = 0
        for _ in 0..<800 {
            var bytes = seed
            for _ in 0..<(1 + next() % 4) {
                let position = next() % bytes.count
                if next() % 2 == 0 { bytes[position] = alphabet[next() % alphabet.count] } else { bytes.remove(at: position) }
            }
            do {
                _ = try RuleLoader.load(sources: [JSONSource(name: "lists.json", bytes: lists), JSONSource(name: "mutated.json", bytes: bytes)])
            } catch {
                refused += 1
                #expect(error.diagnostics.allSatisfy { !$0.message.isEmpty && ($0.file == "mutated.json" || $0.file == "lists.json") })
            }
        }
        #expect(refused > 0)
    }
}
