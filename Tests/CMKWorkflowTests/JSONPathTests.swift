import CMKWorkflow
import Testing

@Suite("JSONPath subset and payload processing")
struct JSONPathTests {
    let document: JSONValue = ["a": ["b": 1, "c": "x"], "list": [1, 2], "n": nil]

    @Test(arguments: [("$", true), ("$.a", true), ("$.a.b", true), ("$.with-dash_1", true),
        ("a.b", false), ("$.", false), ("$..a", false), ("$.a[0]", false), ("$['a']", false), ("$.a.*", false)])
    func parses(text: String, valid: Bool) {
        #expect(((try? JSONPath(parsing: text)) != nil) == valid)
    }

    @Test func reads() throws {
        #expect(try JSONPath(parsing: "$").read(from: document) == document)
        #expect(try JSONPath(parsing: "$.a.b").read(from: document) == 1)
        #expect(try JSONPath(parsing: "$.n").read(from: document) == .null)
        #expect(try JSONPath(parsing: "$.a.missing").read(from: document) == nil)
        #expect(try JSONPath(parsing: "$.a.b.deeper").read(from: document) == nil)
    }

    @Test func writesCreatingObjects() throws {
        let written = try JSONPath(parsing: "$.a.d.e").write("new", into: document)
        #expect(written["a"]?["d"]?["e"] == "new")
        #expect(written["a"]?["b"] == 1)
        #expect(try JSONPath.root.write(5, into: document) == 5)
        #expect(throws: WorkflowError.self) { try JSONPath(parsing: "$.a.b.c").write(1, into: document) }
    }

    @Test func rendersParameters() throws {
        let template = ParameterTemplate(["fixed": 1, "copied.$": "$.a.c", "nested": ["whole.$": "$.list"]])
        let rendered = try template.render(input: document)
        #expect(rendered == ["fixed": 1, "copied": "x", "nested": ["whole": [1, 2]]])
        #expect(throws: WorkflowError.self) { try ParameterTemplate(["m.$": "$.missing"]).render(input: document) }
    }

    @Test func appliesInputResultAndOutputPaths() throws {
        let state = StateDefinition(
            name: "S", kind: .pass(result: nil), inputPath: .path(try JSONPath(parsing: "$.a")),
            resultPath: .path(try JSONPath(parsing: "$.result")), outputPath: .path(try JSONPath(parsing: "$.result")))
        #expect(try state.effectiveInput(from: document) == ["b": 1, "c": "x"])
        #expect(try state.output(rawInput: document, result: "done") == "done")
        let discarding = StateDefinition(name: "D", kind: .pass(result: nil), inputPath: .discard, resultPath: .discard)
        #expect(try discarding.effectiveInput(from: document) == [:])
        #expect(try discarding.output(rawInput: document, result: "ignored") == document)
        let emptyOutput = StateDefinition(name: "E", kind: .succeed, outputPath: .discard)
        #expect(try emptyOutput.applyOutputPath(document) == [:])
    }

    @Test func roundTripsJSONText() throws {
        let text = #"{"a":{"b":1,"c":"x"},"f":1.5,"list":[1,2],"n":null,"t":true}"#
        #expect(try JSONValue(parsing: text).jsonText == text)
        #expect(throws: JSONError.self) { try JSONValue(parsing: "{nope") }
    }
}
