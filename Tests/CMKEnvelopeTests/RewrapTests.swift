@testable import CMKEnvelope
import Crypto
import Foundation
import Testing

/// Rewrap replaces a message's encrypted data keys and header tag, leaves the body alone, and what it
/// writes decrypts only under the new keys, here and in the AWS Encryption SDK for Python.
@Suite("Rewrap of unsigned messages")
struct RewrapTests {
    static let old = InteropTests.keys(sizes: [32], seed: 0)[0]
    static let newKeys = InteropTests.keys(sizes: [32, 16], seed: 1)
    static let context = try! EncryptionContext([("cmk-tenant", "acme-7f3k2q"), ("purpose", "rewrap")])

    static func newKeyring() throws -> MultiKeyring {
        try MultiKeyring(generator: newKeys[0].keyring(), children: [newKeys[1].keyring()])
    }

    static func message(_ plaintext: [UInt8], suite: AlgorithmSuite = .aes256GCMHKDFSHA512CommitKey, frameLength: UInt32 = 64) async throws -> [UInt8] {
        let envelope = Envelope(configuration: EnvelopeConfiguration(suite: suite, frameLength: frameLength))
        return try await envelope.encrypt(plaintext, context: context, keyring: try old.keyring())
    }

    @Test("a rewrapped message decrypts under each new key, not the old one, with its body byte for byte")
    func roundTrip() async throws {
        let plaintext = InteropTests.plaintext(size: 1000)
        let original = try await Self.message(plaintext)
        let rewrapped = try await Envelope().rewrap(original, from: try Self.old.keyring(), to: try Self.newKeyring(), requiredContext: Self.context)

        let before = try MessageHeaderSummary(reading: original)
        let after = try MessageHeaderSummary(reading: rewrapped)
        #expect(after.encryptedDataKeys.count == 2)
        #expect(Set(after.encryptedDataKeys.map(\.providerInfo)).isDisjoint(with: before.encryptedDataKeys.map(\.providerInfo)))
        #expect(after.encryptionContext == before.encryptionContext)
        #expect(Array(rewrapped[after.headerLength...]) == Array(original[before.headerLength...]), "the body must be copied untouched")
        let oldLayout = MessageLayout(original, signed: false), newLayout = MessageLayout(rewrapped, signed: false)
        for name in ["message id", "commitment"] {
            let a = oldLayout.fields.first { $0.name == name }!.range, b = newLayout.fields.first { $0.name == name }!.range
            #expect(original[a] == rewrapped[b], "\(name) changed")
        }

        for key in Self.newKeys {
            let decrypted = try await Envelope().decrypt(rewrapped, keyring: try key.keyring(), requiredContext: Self.context)
            #expect(decrypted.plaintext == plaintext)
        }
        let refused = await Self.code { _ = try await Envelope().decrypt(rewrapped, keyring: try Self.old.keyring()) }
        #expect(refused == .authenticationFailed)
    }

    @Test("rewrapping twice, and back, keeps the plaintext; an empty message too", arguments: [0, 1, 64, 65, 5000])
    func chains(size: Int) async throws {
        let plaintext = InteropTests.plaintext(size: size)
        let original = try await Self.message(plaintext)
        let once = try await Envelope().rewrap(original, from: try Self.old.keyring(), to: try Self.newKeys[1].keyring())
        let twice = try await Envelope().rewrap(once, from: try Self.newKeys[1].keyring(), to: try Self.old.keyring())
        #expect(try await Envelope().decrypt(twice, keyring: try Self.old.keyring()).plaintext == plaintext)
        #expect(await Self.code { _ = try await Envelope().decrypt(twice, keyring: try Self.newKeys[1].keyring()) } == .authenticationFailed)
    }

    @Test("a signed message is refused as not-rewrappable before any key is asked")
    func signedRefused() async throws {
        let original = try await Self.message(Array("signed".utf8), suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)
        let counting = CountingKeyring(underlying: try Self.old.keyring())
        let code = await Self.code { _ = try await Envelope().rewrap(original, from: counting, to: try Self.newKeyring()) }
        #expect(code == .notRewrappable)
        #expect(counting.calls.value == 0)
        #expect(try MessageHeaderSummary(reading: original).isRewrappable == false)
        #expect(try MessageHeaderSummary(reading: try await Self.message([1])).isRewrappable)
    }

    @Test("a flipped bit anywhere in the header is refused; a damaged body passes rewrap and fails decrypt")
    func tampering() async throws {
        let plaintext = InteropTests.plaintext(size: 200)
        let original = try await Self.message(plaintext)
        let layout = MessageLayout(original, signed: false)
        let headerEnd = layout.fields.first { $0.name == "header tag" }!.range.upperBound
        for field in layout.fields where field.range.upperBound <= headerEnd {
            for index in field.range {
                var damaged = original
                damaged[index] ^= 0x01
                let code = await Self.code { _ = try await Envelope().rewrap(damaged, from: try Self.old.keyring(), to: try Self.newKeyring()) }
                #expect(code == .authenticationFailed, "byte \(index) (\(field.name)) flipped: \(String(describing: code))")
            }
        }
        for frame in layout.frames {
            var damaged = original
            damaged[frame.upperBound - 1] ^= 0x80
            let rewrapped = try await Envelope().rewrap(damaged, from: try Self.old.keyring(), to: try Self.newKeyring())
            #expect(await Self.code { _ = try await Envelope().decrypt(rewrapped, keyring: try Self.newKeys[0].keyring()) } == .authenticationFailed)
        }
        for cut in [0, 1, 40, headerEnd - 1] {
            let code = await Self.code { _ = try await Envelope().rewrap(original.prefix(cut), from: try Self.old.keyring(), to: try Self.newKeyring()) }
            #expect(code == .authenticationFailed, "cut at \(cut)")
        }
    }

    @Test("a wrong required context or a keyring without the key is refused")
    func wrongKeyOrContext() async throws {
        let original = try await Self.message([1, 2, 3])
        let other = try EncryptionContext([("cmk-tenant", "globex-1a2b3c")])
        #expect(await Self.code { _ = try await Envelope().rewrap(original, from: try Self.old.keyring(), to: try Self.newKeyring(), requiredContext: other) } == .authenticationFailed)
        #expect(await Self.code { _ = try await Envelope().rewrap(original, from: try Self.newKeys[0].keyring(), to: try Self.newKeyring()) } == .authenticationFailed)
    }

    @Test("the AWS Encryption SDK for Python decrypts what was rewrapped, with the new key only, whoever wrote the original")
    func pythonDecryptsRewrapped() async throws {
        let directory = try TemporaryDirectory()
        let plaintext = InteropTests.plaintext(size: 10_000)
        try Data(plaintext).write(to: directory.path("plain"))
        // One original written here, one by the Python SDK.
        let ours = try await Self.message(plaintext, frameLength: 4096)
        let peerContext = Self.context.pairs.map { [$0.key, $0.value] }
        let written = try PythonPeer.run(op: "encrypt", cases: [
            .init(id: "python", keys: [Self.old.peerKey], context: peerContext, suite: "0478", frame_length: 4096,
                  input: directory.path("plain").path, output: directory.path("python.msg").path),
        ], in: directory.url)
        try #require(written["python"] == "ok", "python encrypt: \(written["python"] ?? "missing")")
        let theirs = try [UInt8](Data(contentsOf: directory.path("python.msg")))

        var cases: [PythonPeer.Case] = []
        for (name, original) in [("ours", ours), ("theirs", theirs)] {
            let rewrapped = try await Envelope().rewrap(original, from: try Self.old.keyring(), to: try Self.newKeys[0].keyring())
            try Data(rewrapped).write(to: directory.path("\(name).rewrapped"))
            cases.append(.init(id: "\(name)-new", keys: [Self.newKeys[0].peerKey], context: peerContext, suite: "0478", frame_length: 4096,
                               input: directory.path("\(name).rewrapped").path, output: directory.path("\(name)-new.out").path))
            cases.append(.init(id: "\(name)-old", keys: [Self.old.peerKey], context: peerContext, suite: "0478", frame_length: 4096,
                               input: directory.path("\(name).rewrapped").path, output: directory.path("\(name)-old.out").path))
        }
        let results = try PythonPeer.run(op: "decrypt", cases: cases, in: directory.url)
        for name in ["ours", "theirs"] {
            #expect(results["\(name)-new"] == "ok", "\(name): \(results["\(name)-new"] ?? "missing")")
            #expect(try Data(contentsOf: directory.path("\(name)-new.out")) == Data(plaintext))
            #expect(results["\(name)-old"]?.hasPrefix("error") == true, "\(name): the old key still decrypts")
        }
    }

    static func code(_ body: () async throws -> Void) async -> EnvelopeError.Code? {
        do {
            try await body()
            return nil
        } catch let error as EnvelopeError {
            return error.code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}

/// Counts the calls reaching a keyring, to show that a refusal asked no key.
struct CountingKeyring: Keyring {
    final class Counter: @unchecked Sendable {
        // Guarded by `lock`.
        private var count = 0
        private let lock = NSLock()
        var value: Int { lock.withLock { count } }
        func increment() { lock.withLock { count += 1 } }
    }

    let underlying: RawAESKeyring
    let calls = Counter()

    func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        calls.increment()
        return try await underlying.onEncrypt(materials)
    }

    func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        calls.increment()
        return try await underlying.onDecrypt(materials, encryptedDataKeys: encryptedDataKeys)
    }
}
