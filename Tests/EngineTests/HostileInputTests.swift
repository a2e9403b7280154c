import Testing
@testable import Engine
import SentinelJSON

/// Bad input gets an error, never a crash: random mutations of valid conditions and recorded
/// events go through the parsers, the compiler and the decoder. The seed is fixed, so a failure
/// reproduces.
@Suite struct HostileInputTests {
    /// Patterns that make a backtracking matcher take exponential time cost glibc's automaton
    /// time in proportion to the value: 20,000 a's are judged in well under a second each.
    @Test(arguments: ["(a+)+b", "(a|aa)+b", "(a*)*b", "(.*a){20}", "((a|a?)+)+b"])
    func catastrophicRegexesStayBounded(pattern: String) throws {
        let regex = try RegexPattern(pattern)
        let value = String(repeating: "a", count: 20_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(!regex.matches(value + "!")) }
        #expect(elapsed < .seconds(2), "\(pattern) took \(elapsed)")
    }

    /// A list of 100,000 values compiles to one set: membership is one look-up, whichever item it
    /// is; the modifiers, which compare item by item, take such a list too (oneof refuses it).
    @Test func hugeListsCompileToSets() throws {
        let items = (0..<100_000).map { "name\($0)" }
        let harness = Harness()
        harness.feed(exec(5, ppid: 1, "/usr/bin/name99999", ["name99999"]))
        #expect(try harness.matches("proc.name in (\(items.joined(separator: ", ")))"))
        #expect(try !harness.matches("proc.name in (\(items.dropLast().joined(separator: ", ")))"))
        #expect(try harness.matches("proc.name startswith anyof (\(items.suffix(1000).joined(separator: ", ")))"))
        let diagnostics = Diagnostics()
        let parsed = try ConditionParser.parse(ConditionOrigin(text: "proc.name = oneof (\(items.prefix(65).joined(separator: ", ")))"))
        #expect(ConditionCompiler.compile(parsed, diagnostics: diagnostics) == nil)
        #expect(diagnostics.all.first?.message.contains("oneof takes at most 64 values; this list has 65") == true)
    }

    @Test func aRegexSeesPastANul() throws {
        let single = try RegexPattern("a")
        #expect(!single.matches("a\u{0}b"), "the NUL does not end the value early")
    }

    /// Flips, inserts, deletes and duplicates bytes, favouring the characters the grammars use.
    static func mutate(_ seed: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        let alphabet = Array("()[]{},:\"'\\=!<> .-_0123456789aznotrueflsin\u{0}\n\t".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        for _ in 0..<(1 + random.below(6)) {
            let position = bytes.isEmpty ? 0 : random.below(bytes.count + 1)
            switch random.below(4) {
            case 0 where position < bytes.count: bytes[position] = alphabet[random.below(alphabet.count)]
            case 1: bytes.insert(alphabet[random.below(alphabet.count)], at: position)
            case 2 where position < bytes.count: bytes.remove(at: position)
            default:
                let end = min(bytes.count, position + random.below(12))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            }
        }
        return bytes
    }

    @Test func mutatedConditionsNeverCrash() {
        let seeds = [
            "evt.type = execve and proc.aname[2] in (nginx, \"java\") and not fd.name startswith '/etc'",
            "(fd.sip in (10.0.0.0/8, ::1) or fd.sport >= 1024) and proc.cmdline icontains \"-e\" and proc.exepath glob '/tmp/*'",
        ]
        var random = SplitMix64(seed: 7)
        var compiled = 0
        for index in 0..<20_000 {
            let text = String(decoding: Self.mutate(Array(seeds[index % seeds.count].utf8), &random), as: UTF8.self)
            let diagnostics = Diagnostics()
            if let expression = try? ConditionParser.parse(ConditionOrigin(text: text)),
               ConditionCompiler.compile(expression, diagnostics: diagnostics) != nil {
                compiled += 1
            }
        }
        #expect(compiled > 0 && compiled < 20_000, "the mutations produce both valid and invalid conditions")
    }

    @Test func mutatedRecordedEventsNeverCrash() {
        let seeds = [
            #"{"evt.type": "connect", "evt.time": 1, "proc.pid": 1, "fd.cip": "2001:db8::1", "fd.cport": 40000, "fd.sip": "10.0.0.1", "fd.sport": 443}"#,
            #"{"evt.type": "execve", "evt.time": "2026-11-22T10:00:00.5Z", "proc.pid": 2, "proc.args": ["sh", "-c", "x\u00e9"], "evt.arg.flags": "O_RDONLY"}"#,
        ]
        var random = SplitMix64(seed: 11)
        var decoded = 0
        let engine = Engine(rules: [])
        for index in 0..<20_000 {
            let diagnostics = Diagnostics()
            let bytes = Self.mutate(Array(seeds[index % seeds.count].utf8), &random)
            if let event = EventCodec.decodeLine(bytes, file: "fuzz", line: 1, diagnostics: diagnostics) {
                decoded += 1
                engine.process(event) { _ in }
            } else if !EventCodec.isBlank(bytes) {
                #expect(!diagnostics.all.isEmpty, "a refused line says why")
            }
        }
        #expect(decoded > 0 && decoded < 20_000)
    }
}
