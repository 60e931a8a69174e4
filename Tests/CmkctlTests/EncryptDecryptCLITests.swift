import CMKTesting
import Foundation
import Testing

@Suite("cmkctl encrypt and decrypt")
struct EncryptDecryptCLITests {
    @Test("a file round trip with a multi-keyring, decrypted with any one key")
    func roundTrip() throws {
        let scratch = try Scratch()
        let k32 = try scratch.randomKey("k32", size: 32)
        let k16 = try scratch.randomKey("k16", size: 16)
        let k24 = try scratch.randomKey("k24", size: 24)
        let plaintext = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let input = try scratch.write("plain", plaintext)
        let encrypt = try CLIRunner.run(["encrypt", "--key", "raw-aes:app/k32=\(k32)", "--key", "raw-aes:app/k16=\(k16)", "--key", "raw-aes:app/k24=\(k24)",
                                         "--context", "tenant=acme", "--context", "note=a=b", "--suite", "0578", "--frame-length", "1000",
                                         "--input", input, "--output", scratch.path("msg")])
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        for key in ["raw-aes:app/k32=\(k32)", "raw-aes:app/k16=\(k16)", "raw-aes:app/k24=\(k24)"] {
            let decrypt = try CLIRunner.run(["decrypt", "--key", key, "--context", "note=a=b", "--input", scratch.path("msg")])
            #expect(decrypt.status == 0, "\(decrypt.stderr)")
            #expect(decrypt.stdout == Data(plaintext))
        }
    }

    @Test("stdin to stdout, and a context file carrying keys that differ only by normalization")
    func pipesAndContextFile() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let contextFile = try scratch.write("ctx.json", Array(#"{"caf\u00e9": "nfc", "cafe\u0301": "nfd"}"#.utf8))
        let encrypt = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--context-file", contextFile], stdin: Data("hello".utf8))
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let decrypt = try CLIRunner.run(["decrypt", "--key", "raw-aes:n/k=\(key)", "--context-file", contextFile, "--verify-before-output"], stdin: encrypt.stdout)
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(decrypt.stdoutText == "hello")
        // Swapping the values of the two look-alike keys is a different context.
        let swapped = try scratch.write("swapped.json", Array(#"{"caf\u00e9": "nfd", "cafe\u0301": "nfc"}"#.utf8))
        let refused = try CLIRunner.run(["decrypt", "--key", "raw-aes:n/k=\(key)", "--context-file", swapped], stdin: encrypt.stdout)
        #expect(refused.status == 65)
    }

    @Test("a failed decrypt leaves nothing at --output, exits 65 and says one line")
    func failedDecryptLeavesNothing() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let plaintext = [UInt8](repeating: 7, count: 50_000)
        let input = try scratch.write("plain", plaintext)
        #expect(try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--input", input, "--output", scratch.path("msg")]).status == 0)
        var damaged = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path("msg"))))
        damaged[damaged.count - 3] ^= 0x10 // inside the final frame's tag: earlier frames verify first
        let damagedPath = try scratch.write("damaged", damaged)
        let before = Set(scratch.contents)
        let result = try CLIRunner.run(["decrypt", "--key", "raw-aes:n/k=\(key)", "--input", damagedPath, "--output", scratch.path("out")])
        #expect(result.status == 65)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.hasPrefix("cmkctl: error: message could not be decrypted"))
        #expect(Set(scratch.contents) == before, "no output and no temporary file may remain")
        let wrongContext = try CLIRunner.run(["decrypt", "--key", "raw-aes:n/k=\(key)", "--context", "x=y", "--input", scratch.path("msg"), "--output", scratch.path("out")])
        #expect(wrongContext.status == 65)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }

    @Test("bad arguments name the problem and exit with distinct codes")
    func badArguments() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let short = try scratch.randomKey("short", size: 20)
        let cases: [([String], Int32, String)] = [
            (["encrypt", "--key", "vault:abc"], 64, "unknown key scheme"),
            (["encrypt"], 64, "at least one --key"),
            (["encrypt", "--key", "raw-aes:n/k=\(scratch.path("absent"))"], 66, "cannot read the wrapping key file"),
            (["encrypt", "--key", "raw-aes:n/k=\(short)"], 64, "16, 24 or 32 bytes"),
            (["encrypt", "--key", "raw-aes:n/k=\(key)", "--suite", "0178"], 64, "--suite"),
            (["encrypt", "--key", "raw-aes:n/k=\(key)", "--commitment-policy", "forbid-encrypt-allow-decrypt"], 78, "forbids encrypting"),
            (["encrypt", "--key", "raw-aes:n/k=\(key)", "--context", "novalue"], 64, "KEY=VALUE"),
            (["decrypt", "--key", "raw-aes:n/k=\(key)", "--input", scratch.path("absent")], 66, "cannot open the input file"),
            (["encrypt", "--key", "raw-aes:n/k=\(key)", "--frame-length", "0"], 64, "--frame-length"),
        ]
        for (arguments, status, phrase) in cases {
            let result = try CLIRunner.run(arguments, stdin: Data("x".utf8))
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(arguments): \(result.stderr)")
        }
    }

    @Test("--help explains the key, context and policy options")
    func help() throws {
        let result = try CLIRunner.run(["decrypt", "--help"])
        #expect(result.status == 0)
        for phrase in ["--key <spec>", "raw-aes:NAMESPACE/NAME=PATH", "--context <key=value>", "--context-file <path>",
                       "--commitment-policy", "--max-encrypted-data-keys", "--verify-before-output", "Exit status"] {
            #expect(result.stdoutText.contains(phrase), "help lacks \(phrase)")
        }
    }

    @Test("2 GiB streams through encrypt and decrypt in under 64 MiB of resident memory")
    func streamingMemory() throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k", size: 32)
        let binary = CLIRunner.binary
        let pipeline = "head -c 2147483648 /dev/zero | \(binary) encrypt --key raw-aes:n/k=\(key) --frame-length 65536 | \(binary) decrypt --key raw-aes:n/k=\(key) | wc -c"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLIRunner.packageRoot.appendingPathComponent("Tests/Peers/peak_rss.py").path, pipeline]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["exit"] as? Int == 0)
        #expect(report["stdout"] as? String == "2147483648")
        let peakKiB = try #require(report["max_rss_kib"] as? Int)
        #expect(peakKiB < 64 * 1024, "peak resident memory was \(peakKiB / 1024) MiB")
    }
}
