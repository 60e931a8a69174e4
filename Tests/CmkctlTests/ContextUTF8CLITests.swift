import CMKTesting
import Foundation
import Testing

/// Encryption context pairs are bound byte for byte, so bytes that are not UTF-8 are refused
/// (exit 64, naming the pair) instead of being replaced with U+FFFD.
@Suite("cmkctl strict UTF-8 context")
struct ContextUTF8CLITests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("invalid UTF-8 in a --context argument is exit 64 naming the escaped pair",
          arguments: [
            // (the context arguments' bytes, what the error shows)
            ([bytes("--context"), bytes("caf") + [0xE9] + bytes("=x")], #""caf\xE9=x""#),
            ([bytes("--context=tenant=") + [0xFF, 0xFE]], #""tenant=\xFF\xFE""#),
            ([bytes("--context"), [0x01] + bytes("k") + [0xC3] + bytes("=v")], #""\u{1}k\xC3=v""#),
          ])
    func invalidArgument(context: [[UInt8]], shown: String) throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let plain = try scratch.write("plain", Array("hello".utf8))
        let message = scratch.path("msg")
        let encrypt = try CLIRunner.run(rawArguments: [Self.bytes("encrypt"), Self.bytes("--key"), Self.bytes("raw-aes:n/k=\(key)"),
                                                       Self.bytes("--input"), Self.bytes(plain), Self.bytes("--output"), Self.bytes(message)] + context,
                                        scratch: scratch)
        #expect(encrypt.status == 64, "\(encrypt.stderr)")
        #expect(encrypt.stderr.contains(shown), "\(encrypt.stderr)")
        #expect(encrypt.stderr.contains("not valid UTF-8"))
        #expect(!FileManager.default.fileExists(atPath: message))

        // decrypt refuses the same argument, so other invalid bytes cannot stand in for a pair.
        #expect(try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--input", plain, "--output", message]).status == 0)
        let decrypt = try CLIRunner.run(rawArguments: [Self.bytes("decrypt"), Self.bytes("--key"), Self.bytes("raw-aes:n/k=\(key)"),
                                                       Self.bytes("--input"), Self.bytes(message)] + context,
                                        scratch: scratch)
        #expect(decrypt.status == 64, "\(decrypt.stderr)")
        #expect(decrypt.stderr.contains(shown), "\(decrypt.stderr)")
        #expect(decrypt.stdout.isEmpty)
    }

    @Test("U+FFFD typed as valid UTF-8 is an ordinary character and round-trips")
    func replacementCharacterItself() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let encrypt = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--context", "k=\u{FFFD}"], stdin: Data("hi".utf8))
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let decrypt = try CLIRunner.run(["decrypt", "--key", "raw-aes:n/k=\(key)", "--context", "k=\u{FFFD}"], stdin: encrypt.stdout)
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(decrypt.stdoutText == "hi")
    }

    @Test("invalid UTF-8 in a --context-file key or value is exit 64 naming the file and the pair",
          arguments: [
            (bytes(#"{"tenant": "a"#) + [0xFF] + bytes(#""}"#), #"the value of "tenant", "a\xFF", is not valid UTF-8"#),
            (bytes(#"{"ca"#) + [0xE9] + bytes(#"\u0001": "x"}"#), #"the key "ca\xE9\u{1}" is not valid UTF-8"#),
          ])
    func invalidFile(json: [UInt8], phrase: String) throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let file = try scratch.write("ctx.json", json)
        for command in ["encrypt", "decrypt"] {
            let result = try CLIRunner.run([command, "--key", "raw-aes:n/k=\(key)", "--context-file", file], stdin: Data("x".utf8))
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains("context file \(file)"), "\(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}
