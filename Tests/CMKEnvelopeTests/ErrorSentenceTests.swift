import CMKEnvelope
import Foundation
import Testing

/// The sentences users read instead of Swift and Foundation error dumps, and escaped user bytes.
@Suite("Error sentences and display text")
struct ErrorSentenceTests {
    struct Configuration: Decodable {
        let providerKey: String?
        let tenants: [String]?
        let endpoints: [String: String]?
        let required: Int
    }

    @Test("decoding errors name the field and what was expected", arguments: [
        (#"{"providerKey": 3, "required": 1}"#, "field `providerKey`: expected a string"),
        (#"{"tenants": ["a", false], "required": 1}"#, "field `tenants[1]`: expected a string"),
        (#"{"tenants": "a", "required": 1}"#, "field `tenants`: expected an array"),
        (#"{"endpoints": {"us-east-1": 1}, "required": 1}"#, "field `endpoints.us-east-1`: expected a string"),
        (#"{"required": null}"#, "field `required`: expected a number, found null"),
        (#"{}"#, "field `required` is missing"),
        (#"[1]"#, "expected an object at the top level"),
        (#"{"required": "#, "not valid JSON"),
    ])
    func decoding(json: String, sentence: String) {
        do {
            _ = try JSONDecoder().decode(Configuration.self, from: Data(json.utf8))
            Issue.record("\(json) decoded")
        } catch {
            #expect(ErrorSentence.reason(error) == sentence)
        }
    }

    @Test("file errors name the path and the system's reason, never the error domain")
    func fileErrors() throws {
        let directory = FileManager.default.temporaryDirectory.path
        for path in [directory, directory + "/cmkctl-absent-\(UUID().uuidString)"] {
            do {
                _ = try Data(contentsOf: URL(fileURLWithPath: path))
                Issue.record("\(path) was read")
            } catch {
                let text = ErrorSentence.describing(error)
                #expect(text.hasPrefix(path + ": "), "\(text)")
                #expect(text.hasSuffix("is a directory") || text.hasSuffix("no such file or directory"), "\(text)")
                #expect(!text.contains("Domain") && !text.contains("NSCocoaErrorDomain"), "\(text)")
            }
        }
    }

    static let displayed: [([UInt8], String)] = [
        (Array("tenant=acme".utf8), #""tenant=acme""#),
        (Array("caf".utf8) + [0xE9] + Array("=x".utf8), #""caf\xE9=x""#),
        (Array("café".utf8), #""café""#),
        ([0x1B] + Array("[31m\"\\".utf8), #""\u{1B}[31m\"\\""#),
        (Array("a\u{202E}b\n".utf8), #""a\u{202E}b\n""#),
        ([0xF0, 0x9F, 0x98], #""\xF0\x9F\x98""#),
    ]

    @Test("user bytes are quoted with control characters and invalid UTF-8 escaped", arguments: displayed)
    func displayText(bytes: [UInt8], shown: String) {
        #expect(DisplayText.quoted(bytes) == shown)
    }
}
