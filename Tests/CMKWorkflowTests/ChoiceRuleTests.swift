import CMKWorkflow
import Testing

@Suite("Choice rules")
struct ChoiceRuleTests {
    let input: JSONValue = ["s": "on", "n": 5, "m": 5, "b": true, "z": nil, "other": "on"]

    private func rule(_ variable: String, _ comparison: ChoiceRule.Comparison, _ operand: JSONValue) throws -> ChoiceRule {
        .compare(variable: try JSONPath(parsing: variable), comparison: comparison, operand: .literal(operand))
    }

    @Test(arguments: [
        ("$.s", ChoiceRule.Comparison.stringEquals, JSONValue("on"), true),
        ("$.s", .stringEquals, "off", false),
        ("$.n", .stringEquals, "5", false),
        ("$.n", .numericEquals, 5, true),
        ("$.n", .numericLessThan, 6, true),
        ("$.n", .numericLessThan, 5, false),
        ("$.n", .numericGreaterThan, 4, true),
        ("$.n", .numericLessThanEquals, 5, true),
        ("$.n", .numericGreaterThanEquals, 6, false),
        ("$.s", .numericEquals, 5, false),
        ("$.b", .booleanEquals, true, true),
        ("$.b", .booleanEquals, false, false),
        ("$.z", .isNull, true, true),
        ("$.n", .isNull, true, false),
        ("$.missing", .isPresent, true, false),
        ("$.missing", .isPresent, false, true),
        ("$.z", .isPresent, true, true),
        ("$.missing", .numericEquals, 5, false),
    ])
    func compares(variable: String, comparison: ChoiceRule.Comparison, operand: JSONValue, expected: Bool) throws {
        #expect(try rule(variable, comparison, operand).matches(input) == expected)
    }

    @Test func comparesAgainstPaths() throws {
        let same = ChoiceRule.compare(variable: try JSONPath(parsing: "$.n"), comparison: .numericEquals, operand: .path(try JSONPath(parsing: "$.m")))
        let strings = ChoiceRule.compare(variable: try JSONPath(parsing: "$.s"), comparison: .stringEquals, operand: .path(try JSONPath(parsing: "$.other")))
        let missing = ChoiceRule.compare(variable: try JSONPath(parsing: "$.n"), comparison: .numericLessThan, operand: .path(try JSONPath(parsing: "$.nope")))
        #expect(same.matches(input))
        #expect(strings.matches(input))
        #expect(!missing.matches(input))
    }

    @Test func combines() throws {
        let yes = try rule("$.b", .booleanEquals, true)
        let no = try rule("$.s", .stringEquals, "off")
        #expect(ChoiceRule.and([yes, yes]).matches(input))
        #expect(!ChoiceRule.and([yes, no]).matches(input))
        #expect(ChoiceRule.or([no, yes]).matches(input))
        #expect(!ChoiceRule.or([no, no]).matches(input))
        #expect(ChoiceRule.not(no).matches(input))
        #expect(!ChoiceRule.not(.or([yes])).matches(input))
    }
}
