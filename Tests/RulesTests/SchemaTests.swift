import Testing
@testable import Rules
import SentinelJSON

/// The JSON Schema that editors use (schema/rules.schema.json) names the same keys and rule types
/// the loader accepts.
@Suite struct SchemaTests {
    private func properties(_ node: JSONNode?) -> Set<String> {
        guard case .object(let members)? = node?["properties"]?.value else { return [] }
        return Set(members.map(\.key))
    }

    @Test func schemaAndLoaderAgree() throws {
        let bytes = try #require(readWholeFile(packageRoot + "/schema/rules.schema.json"))
        let schema = try JSONParser.parse(bytes)
        let definitions = schema["$defs"]
        #expect(properties(schema) == Set(RuleFileReader.topLevelKeys))
        #expect(properties(definitions?["list"]) == Set(RuleFileReader.listKeys))
        #expect(properties(definitions?["macro"]) == Set(RuleFileReader.macroKeys))
        #expect(properties(definitions?["rule"]) == Set(RuleFileReader.ruleKeys))
        #expect(properties(definitions?["exception"]) == Set(RuleFileReader.exceptionKeys))
        guard case .array(let types)? = definitions?["rule"]?["properties"]?["type"]?["enum"]?.value else {
            Issue.record("no rule type enum")
            return
        }
        #expect(Set(types.compactMap { if case .string(let name) = $0.value { name } else { nil } }) == Set(RuleTypeRegistry.names))
        for type in RuleTypeRegistry.types {
            #expect(properties(definitions?["\(type.name)Params"]) == Set(type.parameterNames), "params of \(type.name)")
        }
    }
}
