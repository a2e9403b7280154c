import Testing
@testable import SentinelJSON

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let node = try JSONParser.parse(#"{"a": [1, -2.5, true, false, null, "x\u00e9\n"], "b": {"c": 9007199254740993}}"#)
        guard case .object(let members) = node.value, case .array(let items) = members[0].value.value else {
            Issue.record("not an object holding an array")
            return
        }
        #expect(items.count == 6)
        if case .integer(let value) = items[0].value { #expect(value == 1) } else { Issue.record("1 is not an integer") }
        if case .double(let value) = items[1].value { #expect(value == -2.5) } else { Issue.record("-2.5 is not a double") }
        if case .string(let value) = items[5].value { #expect(value == "xé\n") } else { Issue.record("not a string") }
        // Integers beyond 2^53 stay exact: nanosecond timestamps depend on it.
        if case .integer(let value) = node["b"]?["c"]?.value { #expect(value == 9_007_199_254_740_993) } else { Issue.record("big integer lost") }
    }

    @Test func decodesSurrogatePairs() throws {
        let node = try JSONParser.parse(#""\ud83d\ude00""#)
        if case .string(let value) = node.value { #expect(value == "😀") } else { Issue.record("not a string") }
    }

    @Test(arguments: [
        (#"{"a": 1,}"#, "trailing comma before '}'"),
        (#"{"a": 1, "a": 2}"#, "duplicate key \"a\""),
        (#"[1 2]"#, "unexpected '2', expected ',' or ']'"),
        (#"{"a" 1}"#, "unexpected '1', expected ':' after the key"),
        (#"01"#, "invalid number: leading zero"),
        (#""abc"#, "unterminated string"),
        (#"tru"#, "unexpected 't', expected a value"),
        (#"{} {}"#, "unexpected '{' after the JSON value"),
        (#""\x""#, "invalid escape '\\x' in a string"),
        (#""\ud800""#, "unpaired surrogate in \\u escape"),
    ])
    func reportsSyntaxErrors(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth + 1) + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func locatesOffsetsByLineAndCharacterColumn() {
        let source = JSONSource(name: "f.json", bytes: Array("{\n  \"é\": x\n}".utf8))
        guard case .failure(let diagnostic) = source.parse() else {
            Issue.record("parsed invalid JSON")
            return
        }
        // The column counts characters: "é" is two bytes but one column.
        #expect(diagnostic.location == SourceLocation(line: 2, column: 8))
        #expect(diagnostic.excerpt == ["  \"é\": x", "       ^"])
    }

    @Test func writerEscapesWhatJSONRequires() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("k\"ey"); writer.string("line\nbreak\u{1}tab\t\\")
        writer.key("n"); writer.integer(-3)
        writer.key("list"); writer.beginArray(); writer.bool(true); writer.null(); writer.endArray()
        writer.endObject()
        #expect(writer.text == #"{"k\"ey":"line\nbreak\u0001tab\t\\","n":-3,"list":[true,null]}"#)
        let reparsed = try JSONParser.parse(writer.text)
        if case .string(let value) = reparsed["k\"ey"]?.value { #expect(value == "line\nbreak\u{1}tab\t\\") } else { Issue.record("round trip failed") }
    }

    @Test func anIndentedWriterPutsEachValueOnItsLineAndKeepsEmptyOnesShort() throws {
        var writer = JSONWriter(indent: 2)
        writer.beginObject()
        writer.key("items"); writer.beginArray(); writer.string("a"); writer.integer(1); writer.endArray()
        writer.key("empty"); writer.beginArray(); writer.endArray()
        writer.key("inner"); writer.beginObject(); writer.key("k"); writer.bool(false); writer.endObject()
        writer.endObject()
        #expect(writer.text == """
        {
          "items": [
            "a",
            1
          ],
          "empty": [],
          "inner": {
            "k": false
          }
        }
        """)
        _ = try JSONParser.parse(writer.text)
    }

    @Test func suggestsCloseNames() {
        #expect(closestMatch(to: "proc.nmae", among: ["proc.name", "proc.pid"]) == "proc.name")
        #expect(closestMatch(to: "zzzzzz", among: ["proc.name", "proc.pid"]) == nil)
    }

    @Test func decimalsAreWrittenWithTheirDigits() {
        #expect(decimal(0.99312, digits: 4) == "0.9931")
        #expect(decimal(0.5, digits: 2) == "0.50")
        #expect(decimal(-1.25, digits: 1) == "-1.3")
        #expect(decimal(12, digits: 0) == "12")
        #expect(decimal(0.001, digits: 3) == "0.001")
    }
}
