import CMKTesting
import Foundation
import Testing

/// What a user reads when something fails: one plain line naming the file and field (no Swift
/// type names or Foundation error domains), the debug log on request, and help that lists only the
/// options a command reads.
@Suite("cmkctl error lines, --verbose and help")
struct ErrorsAndHelpCLITests {
    static let internals = ["DecodingError", "typeMismatch", "Debug description", "NSCocoaErrorDomain", "Swift.", "CocoaError", "Error Domain"]

    func expectPlain(_ result: CLIRunner.Result, status: Int32, naming phrases: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        for leaked in Self.internals {
            #expect(!result.stderr.contains(leaked), "stderr shows \(leaked): \(result.stderr)", sourceLocation: sourceLocation)
        }
        for phrase in phrases {
            #expect(result.stderr.contains(phrase), "stderr lacks \(phrase): \(result.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test("a malformed operator configuration names the file and the field")
    func malformedConfiguration() throws {
        let scratch = try Scratch()
        let enroll = ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme",
                      "--key", "arn:aws:kms:local:000000000000:key/11111111-1111-1111-1111-111111111111"]
        let cases: [(String, [UInt8], [String])] = [
            ("wrong-type.json", Array(#"{"providerKey": 3}"#.utf8), ["providerKey must be a string"]),
            ("wrong-element.json", Array(#"{"tenants": ["acme", 7]}"#.utf8), ["tenants[1] must be a string"]),
            ("nested.json", Array(#"{"kmsEndpoints": {"us-east-1": 5}}"#.utf8), ["kmsEndpoints.us-east-1 must be a string"]),
            ("not-an-object.json", Array("[1]".utf8), ["not a JSON object"]),
            ("broken.json", Array("{\"providerKey\": ".utf8), ["not valid JSON"]),
        ]
        for (name, bytes, phrases) in cases {
            let path = try scratch.write(name, bytes)
            let result = try CLIRunner.run(enroll + ["--config", path], in: scratch.url)
            expectPlain(result, status: 78, naming: [path] + phrases)
        }
        let directory = scratch.path("config-dir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        expectPlain(try CLIRunner.run(enroll + ["--config", directory], in: scratch.url), status: 78, naming: [directory, "is a directory"])
    }

    @Test("unreadable policy, context and key files are named with the reason")
    func unreadableFiles() throws {
        let scratch = try Scratch()
        let directory = scratch.path("a-directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let key = try scratch.randomKey("k", size: 32)
        let policy = try CLIRunner.run(["policy", "check", "--policy", directory,
                                        "--principal", "arn:aws:iam::111122223333:role/r", "--identifier", "acme-1"])
        expectPlain(policy, status: 66, naming: ["cannot read \(directory)", "is a directory"])
        let context = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--context-file", directory], stdin: Data("x".utf8))
        expectPlain(context, status: 66, naming: ["cannot read the context file \(directory)", "is a directory"])
        let wrappingKey = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(directory)"], stdin: Data("x".utf8))
        expectPlain(wrappingKey, status: 66, naming: ["cannot read the wrapping key file \(directory)", "is a directory"])
        let input = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--input", directory])
        expectPlain(input, status: 66, naming: ["cannot read the input file \(directory)", "is a directory"])
        let created = try CLIRunner.run(["kms", "create-key", "--alias", "a", "--description", "a"], in: scratch.url)
        #expect(created.status == 0, "\(created.stderr)")
        let putPolicy = try CLIRunner.run(["kms", "put-policy", "alias/a", "--policy-file", directory], in: scratch.url)
        expectPlain(putPolicy, status: 66, naming: [directory, "is a directory"])
    }

    @Test("--verbose or CMKCTL_LOG_LEVEL=debug logs why a decrypt failed; without them only the one opaque line")
    func debugLog() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let plaintext = [UInt8](repeating: 0x41, count: 5_000)
        let input = try scratch.write("plain", plaintext)
        #expect(try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--input", input, "--output", scratch.path("msg")]).status == 0)
        var damaged = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path("msg"))))
        damaged[damaged.count - 3] ^= 0x10 // inside the final frame's tag
        let damagedPath = try scratch.write("damaged", damaged)
        let decrypt = ["decrypt", "--key", "raw-aes:n/k=\(key)", "--input", damagedPath, "--output", scratch.path("out")]

        let quiet = try CLIRunner.run(decrypt)
        #expect(quiet.status == 65)
        #expect(quiet.stderr.split(separator: "\n") == ["cmkctl: error: message could not be decrypted: it is malformed, was tampered with, or no given key and context match it"])

        for (arguments, environment) in [(decrypt + ["--verbose"], [:]), (["--verbose"] + decrypt, [:]), (decrypt, ["CMKCTL_LOG_LEVEL": "debug"])] {
            let verbose = try CLIRunner.run(arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
            #expect(verbose.status == 65, "\(verbose.stderr)")
            #expect(verbose.stdout.isEmpty)
            #expect(verbose.stderr.contains("debug"), "\(verbose.stderr)")
            #expect(verbose.stderr.contains("decrypt failed"), "\(verbose.stderr)")
            #expect(verbose.stderr.contains("AES-GCM tag does not verify"), "\(verbose.stderr)")
            #expect(verbose.stderr.hasSuffix("cmkctl: error: message could not be decrypted: it is malformed, was tampered with, or no given key and context match it\n"))
            #expect(!verbose.stderr.contains(String(repeating: "A", count: 16)), "plaintext in the log")
        }

        let badLevel = try CLIRunner.run(decrypt, environment: ProcessInfo.processInfo.environment.merging(["CMKCTL_LOG_LEVEL": "loud"]) { $1 })
        #expect(badLevel.status == 64)
        #expect(badLevel.stderr.contains("CMKCTL_LOG_LEVEL=loud: expected one of trace, debug"))
    }

    /// Help text with its line wrapping undone, so phrases can be searched.
    func help(_ command: [String]) throws -> String {
        let result = try CLIRunner.run(command + ["--help"])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        return result.stdoutText.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test("each command's help lists only the options it reads",
          arguments: [
            (["encrypt"], ["--key <spec>", "The first generates the data key", "--min-regions", "--suite", "--frame-length", "--context-file"],
             ["--hedge-delay-ms", "--verify-before-output", "unwraps it"]),
            (["decrypt"], ["--key <spec>", "Any one of them that wrapped the message's data key unwraps it", "--hedge-delay-ms", "--verify-before-output"],
             ["generates the data key", "--min-regions", "--suite", "--frame-length"]),
            (["probe"], ["--key", "--kms-endpoint", "--kms-timeout", "--local-kms"], ["--min-regions", "--hedge-delay-ms"]),
            (["status"], ["--store", "--tenant"], ["--workflows", "--lease-seconds", "--config"]),
            (["history"], ["--store", "--tenant"], ["--workflows", "--lease-seconds", "--config"]),
            (["enroll"], ["--store", "--config", "--workflows", "--lease-seconds"], []),
            (["worker"], ["--store", "--config", "--workflows", "--lease-seconds"], []),
          ])
    func helpPerCommand(command: [String], listed: [String], absent: [String]) throws {
        let text = try help(command)
        for phrase in listed { #expect(text.contains(phrase), "\(command) help lacks \(phrase)") }
        for phrase in absent { #expect(!text.contains(phrase), "\(command) help lists \(phrase)") }
    }

    @Test("every command's help prints", arguments: [
        ["enroll"], ["status"], ["history"], ["audit", "verify"], ["audit", "export"], ["policy", "check"], ["policy", "template"],
        ["worker"], ["encrypt"], ["decrypt"], ["kms", "create-key"], ["kms", "list"], ["probe"], ["workflows", "validate"],
        ["executions", "list"], ["signal"], ["sources", "check"], ["bench", "envelope"], ["bench", "kms"], ["bench", "cache"], ["bench", "workflow"], ["bench", "reencrypt"], [],
    ])
    func everyHelp(command: [String]) throws {
        #expect(!(try help(command)).isEmpty)
    }
}
