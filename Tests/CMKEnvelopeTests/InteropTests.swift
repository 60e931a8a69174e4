import CMKEnvelope
import Crypto
import Foundation
import Testing

/// Messages written here decrypt with the Python AWS Encryption SDK, and the reverse.
@Suite("Interop with the AWS Encryption SDK for Python")
struct InteropTests {
    struct WrappingKey {
        let namespace: String
        let name: String
        let bytes: [UInt8]

        var peerKey: PythonPeer.Key { .init(namespace: namespace, name: name, key_hex: bytes.map { String(format: "%02x", $0) }.joined()) }
        func keyring() throws -> RawAESKeyring { try RawAESKeyring(namespace: namespace, name: name, wrappingKey: SymmetricKey(data: bytes)) }
    }

    struct Scenario {
        let id: String
        let suite: AlgorithmSuite
        let frameLength: Int
        let plaintextSize: Int
        let context: [(String, String)]
        let keys: [WrappingKey]
    }

    static let contexts: [[(String, String)]] = [
        [],
        [("tenant", "acme"), ("purpose", "backup"), ("a", ""), ("zz-last", "value=with=equals")],
        // Non-ASCII, and two keys that differ only by Unicode normalization (NFC vs NFD "é").
        [("caf\u{E9}", "nfc"), ("cafe\u{301}", "nfd"), ("日本語", "値"), ("emoji", "🔐")],
    ]

    static func keys(sizes: [Int], seed: Int) -> [WrappingKey] {
        sizes.enumerated().map { index, size in
            var generator = SystemRandomNumberGenerator()
            return WrappingKey(namespace: "interop-\(seed % 3)", name: "key-\(index)-\(size * 8)",
                               bytes: (0..<size).map { _ in generator.next() })
        }
    }

    static let keySets: [[Int]] = [[32], [16], [24], [32, 16], [16, 24, 32], [24, 32, 16], [16, 16], [32, 24]]

    /// Both suites, frame lengths from 1 to 65536 (including non-multiples of 128), sizes 0, 1, an
    /// exact multiple of the frame length, an odd size, and several MiB.
    static func scenarios() -> [Scenario] {
        var result: [Scenario] = []
        var counter = 0
        for suite in [AlgorithmSuite.aes256GCMHKDFSHA512CommitKey, .aes256GCMHKDFSHA512CommitKeyECDSAP384] {
            for frameLength in [1, 17, 128, 1000, 4096, 65536] {
                let multiple = frameLength * (frameLength < 100 ? 40 : 3)
                for size in [0, 1, multiple, frameLength * 2 + 5] {
                    result.append(Scenario(id: "s\(suite.hexID)-f\(frameLength)-n\(size)", suite: suite, frameLength: frameLength,
                                           plaintextSize: size, context: contexts[counter % contexts.count],
                                           keys: keys(sizes: keySets[counter % keySets.count], seed: counter)))
                    counter += 1
                }
            }
            for frameLength in [4096, 65536] {
                let size = 3 * 1_048_576 + 7
                result.append(Scenario(id: "s\(suite.hexID)-f\(frameLength)-big", suite: suite, frameLength: frameLength, plaintextSize: size,
                                       context: contexts[counter % contexts.count], keys: keys(sizes: keySets[counter % keySets.count], seed: counter)))
                counter += 1
                result.append(Scenario(id: "s\(suite.hexID)-f\(frameLength)-bigexact", suite: suite, frameLength: frameLength,
                                       plaintextSize: 2 * 1_048_576, context: contexts[counter % contexts.count],
                                       keys: keys(sizes: keySets[counter % keySets.count], seed: counter)))
                counter += 1
            }
        }
        return result
    }

    static func plaintext(size: Int) -> [UInt8] {
        guard size > 0 else { return [] }
        return [UInt8](FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: size))
    }

    @Test("cmkctl encrypts, Python decrypts with any one of the wrapping keys")
    func swiftToPython() async throws {
        let directory = try TemporaryDirectory()
        var cases: [PythonPeer.Case] = []
        var expected: [String: [UInt8]] = [:]
        for scenario in Self.scenarios() {
            let plaintext = Self.plaintext(size: scenario.plaintextSize)
            let keyrings: [any Keyring] = try scenario.keys.map { try $0.keyring() }
            let keyring = keyrings.count == 1 ? keyrings[0] : try MultiKeyring(generator: keyrings[0], children: Array(keyrings.dropFirst()))
            let envelope = Envelope(configuration: EnvelopeConfiguration(suite: scenario.suite, frameLength: UInt32(scenario.frameLength)))
            let message = try await envelope.encrypt(plaintext, context: try EncryptionContext(scenario.context), keyring: keyring)
            let input = directory.path("\(scenario.id).msg")
            try Data(message).write(to: input)
            expected[scenario.id] = plaintext
            cases.append(.init(id: scenario.id, keys: [scenario.keys.last!.peerKey], context: scenario.context.map { [$0.0, $0.1] },
                               suite: scenario.suite.hexID, frame_length: scenario.frameLength,
                               input: input.path, output: directory.path("\(scenario.id).out").path))
        }
        let results = try PythonPeer.run(op: "decrypt", cases: cases, in: directory.url)
        for (id, plaintext) in expected {
            #expect(results[id] == "ok", "\(id): \(results[id] ?? "missing")")
            if results[id] == "ok" {
                #expect(try Data(contentsOf: directory.path("\(id).out")) == Data(plaintext), "\(id): plaintext differs")
            }
        }
    }

    @Test("Python encrypts, cmkctl decrypts (including the SDK's empty final frames)")
    func pythonToSwift() async throws {
        let directory = try TemporaryDirectory()
        var cases: [PythonPeer.Case] = []
        var byID: [String: (Scenario, [UInt8])] = [:]
        // The Python SDK writes only frame lengths that are multiples of 128 (it refuses 1, 17, 1000).
        for scenario in Self.scenarios() where scenario.frameLength % 128 == 0 {
            let plaintext = Self.plaintext(size: scenario.plaintextSize)
            let input = directory.path("\(scenario.id).plain")
            try Data(plaintext).write(to: input)
            byID[scenario.id] = (scenario, plaintext)
            cases.append(.init(id: scenario.id, keys: scenario.keys.map(\.peerKey), context: scenario.context.map { [$0.0, $0.1] },
                               suite: scenario.suite.hexID, frame_length: scenario.frameLength,
                               input: input.path, output: directory.path("\(scenario.id).msg").path))
        }
        let results = try PythonPeer.run(op: "encrypt", cases: cases, in: directory.url)
        for (id, (scenario, plaintext)) in byID {
            try #require(results[id] == "ok", "\(id): \(results[id] ?? "missing")")
            let message = try [UInt8](Data(contentsOf: directory.path("\(id).msg")))
            let required = try EncryptionContext(scenario.context)
            for key in scenario.keys {
                do {
                    let decrypted = try await Envelope().decrypt(message, keyring: try key.keyring(), requiredContext: required)
                    #expect(decrypted.plaintext == plaintext, "\(id): plaintext differs")
                    #expect(decrypted.suite == scenario.suite)
                    #expect(decrypted.encryptionContext.contains(required))
                } catch {
                    Issue.record("\(id) with key \(key.name): \(error)")
                }
            }
            // Streamed in small, uneven pieces, the same message gives the same plaintext.
            var decryptor = MessageDecryptor(keyring: try scenario.keys[0].keyring(), requiredContext: required)
            var streamed: [UInt8] = []
            var offset = 0
            var step = 1
            while offset < message.count {
                let end = min(message.count, offset + step)
                streamed += try await decryptor.update(message[offset..<end])
                offset = end
                step = step * 3 + 1
            }
            streamed += try decryptor.finish()
            #expect(streamed == plaintext, "\(id): streamed plaintext differs")
        }
    }

    @Test("legacy v1 messages decrypt only when the commitment policy allows them")
    func legacySuites() async throws {
        let directory = try TemporaryDirectory()
        let key = Self.keys(sizes: [32], seed: 1)[0]
        let plaintext = Self.plaintext(size: 10_000)
        try Data(plaintext).write(to: directory.path("legacy.plain"))
        let suites = ["0178", "0378", "0014"]
        let cases = suites.map { suite in
            PythonPeer.Case(id: suite, keys: [key.peerKey], context: [["k", "v"]], suite: suite, frame_length: 4096,
                            input: directory.path("legacy.plain").path, output: directory.path("\(suite).msg").path,
                            commitment_policy: "forbid-allow")
        }
        let results = try PythonPeer.run(op: "encrypt", cases: cases, in: directory.url)
        for suite in suites {
            try #require(results[suite] == "ok", "\(suite): \(results[suite] ?? "missing")")
            let message = try [UInt8](Data(contentsOf: directory.path("\(suite).msg")))
            let strict = Envelope()
            await #expect(throws: EnvelopeError.self) { _ = try await strict.decrypt(message, keyring: try key.keyring()) }
            let lenient = Envelope(configuration: EnvelopeConfiguration(commitmentPolicy: .requireEncryptAllowDecrypt))
            let decrypted = try await lenient.decrypt(message, keyring: try key.keyring())
            #expect(decrypted.plaintext == plaintext)
            #expect(decrypted.suite.hexID == suite)
        }
    }
}
