@testable import CMKEnvelope
import Crypto
import Foundation
import Testing

/// Every kind of damage to a message is refused, and plaintext never comes from an unverified frame.
@Suite("Tampered and malformed messages")
struct TamperTests {
    static let keyA = try! RawAESKeyring(namespace: "tamper", name: "a", wrappingKey: SymmetricKey(size: .bits256))
    static let keyB = try! RawAESKeyring(namespace: "tamper", name: "b", wrappingKey: SymmetricKey(size: .bits128))
    static let context = try! EncryptionContext([("tenant", "acme"), ("purpose", "test")])
    static let plaintext: [UInt8] = Array("0123456789abcdef-fedcba9876543210-the-end".utf8)

    /// A message with two encrypted data keys and four frames of 16 bytes (the last short).
    static func message(suite: AlgorithmSuite) async throws -> [UInt8] {
        let envelope = Envelope(configuration: EnvelopeConfiguration(suite: suite, frameLength: 16))
        return try await envelope.encrypt(plaintext, context: context, keyring: MultiKeyring(generator: keyA, children: [keyB]))
    }

    static func decrypts(_ message: [UInt8], keyring: some Keyring = keyA, required: EncryptionContext = context) async -> Bool {
        do {
            let result = try await Envelope().decrypt(message, keyring: keyring, requiredContext: required)
            return result.plaintext == plaintext
        } catch let error as EnvelopeError {
            #expect(error.code == .authenticationFailed, "failures must be the opaque error, got \(error.code)")
            return false
        } catch {
            Issue.record("unexpected error type \(error)")
            return false
        }
    }

    static let suites = [AlgorithmSuite.aes256GCMHKDFSHA512CommitKey, .aes256GCMHKDFSHA512CommitKeyECDSAP384]

    @Test("the untouched message decrypts with either key", arguments: suites)
    func untouched(suite: AlgorithmSuite) async throws {
        let message = try await Self.message(suite: suite)
        #expect(await Self.decrypts(message, keyring: Self.keyA))
        #expect(await Self.decrypts(message, keyring: Self.keyB))
        #expect(MessageLayout(message, signed: suite.isSigned).frames.count == 3)
    }

    @Test("a flipped bit anywhere is refused: every header field, frame body, tag and the footer", arguments: suites)
    func flippedBits(suite: AlgorithmSuite) async throws {
        let message = try await Self.message(suite: suite)
        let layout = MessageLayout(message, signed: suite.isSigned)
        for field in layout.fields {
            for index in field.range {
                for bit in [0, 7] {
                    var damaged = message
                    damaged[index] ^= UInt8(1 << bit)
                    let accepted = await Self.decrypts(damaged)
                    #expect(!accepted, "bit \(bit) of byte \(index) (\(field.name)) flipped and the message still decrypted")
                }
            }
        }
    }

    @Test("truncation at every byte, including every structural boundary, is refused", arguments: suites)
    func truncation(suite: AlgorithmSuite) async throws {
        let message = try await Self.message(suite: suite)
        let layout = MessageLayout(message, signed: suite.isSigned)
        #expect(layout.boundaries.count > 20)
        for length in 0..<message.count {
            let accepted = await Self.decrypts(Array(message[..<length]))
            #expect(!accepted, "message cut to \(length) of \(message.count) bytes still decrypted")
        }
    }

    @Test("bytes after the end of the message are refused", arguments: suites)
    func trailingBytes(suite: AlgorithmSuite) async throws {
        let message = try await Self.message(suite: suite)
        #expect(!(await Self.decrypts(message + [0])))
        #expect(!(await Self.decrypts(message + message)))
        let layout = MessageLayout(message, signed: suite.isSigned)
        #expect(!(await Self.decrypts(message + Array(message[layout.frames[0]]))))
    }

    @Test("reordered, duplicated and dropped frames are refused", arguments: suites)
    func frameOrder(suite: AlgorithmSuite) async throws {
        let message = try await Self.message(suite: suite)
        let layout = MessageLayout(message, signed: suite.isSigned)
        let (first, second, final) = (layout.frames[0], layout.frames[1], layout.frames[2])
        let head = Array(message[..<first.lowerBound])
        let tail = Array(message[final.upperBound...])
        let pieces = { (ranges: [Range<Int>]) in head + ranges.flatMap { Array(message[$0]) } + tail }
        #expect(await Self.decrypts(pieces([first, second, final])))
        #expect(!(await Self.decrypts(pieces([second, first, final]))), "swapped frames")
        #expect(!(await Self.decrypts(pieces([first, first, second, final]))), "duplicated frame")
        #expect(!(await Self.decrypts(pieces([first, final]))), "dropped frame")
        #expect(!(await Self.decrypts(pieces([first, second]))), "dropped final frame")
    }

    @Test("wrong key and wrong or missing context are refused")
    func wrongKeyOrContext() async throws {
        let message = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKey)
        let stranger = try RawAESKeyring(namespace: "tamper", name: "a", wrappingKey: SymmetricKey(size: .bits256))
        #expect(!(await Self.decrypts(message, keyring: stranger)))
        let otherName = try RawAESKeyring(namespace: "tamper", name: "c", wrappingKey: SymmetricKey(size: .bits256))
        #expect(!(await Self.decrypts(message, keyring: otherName)))
        #expect(!(await Self.decrypts(message, required: try EncryptionContext([("tenant", "globex")]))))
        #expect(!(await Self.decrypts(message, required: try EncryptionContext([("missing", "pair")]))))
        #expect(await Self.decrypts(message, required: try EncryptionContext([("tenant", "acme")])))
    }

    @Test("a header whose commitment does not match the data key is refused before the key is used")
    func commitmentMismatch() async throws {
        // Rebuild a header with a wrong commitment but a valid header tag, so only the commitment check can catch it.
        let message = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKey)
        var reader = ByteReader(message)
        var header = try MessageHeader.parse(&reader, limits: ParsingLimits())
        let materials = try await Self.keyA.onDecrypt(DecryptionMaterials(suite: header.suite, encryptionContext: header.encryptionContext),
                                                      encryptedDataKeys: header.encryptedDataKeys)
        header.commitment[0] ^= 1
        let cipher = try BodyCipher(key: KeyDerivation.encryptionKey(dataKey: materials.plaintextDataKey!, suite: header.suite, messageID: header.messageID),
                                messageID: header.messageID)
        var forged = try header.serialized()
        forged += try cipher.headerTag(header: forged)
        forged += message[(reader.consumed + 16)...]
        #expect(!(await Self.decrypts(forged)))
        header.commitment[0] ^= 1
        var honest = try header.serialized()
        honest += try cipher.headerTag(header: honest)
        honest += message[(reader.consumed + 16)...]
        #expect(await Self.decrypts(honest), "the rebuilt header must be right apart from the commitment")
    }

    @Test("too many encrypted data keys are refused, on decrypt and on encrypt")
    func encryptedDataKeyLimit() async throws {
        let keyrings: [any Keyring] = try (0..<4).map { try RawAESKeyring(namespace: "many", name: "k\($0)", wrappingKey: SymmetricKey(size: .bits256)) }
        let multi = try MultiKeyring(generator: keyrings[0], children: Array(keyrings.dropFirst()))
        let message = try await Envelope().encrypt(Self.plaintext, context: Self.context, keyring: multi)
        let limited = Envelope(configuration: EnvelopeConfiguration(limits: ParsingLimits(maxEncryptedDataKeys: 3)))
        await #expect(throws: EnvelopeError.self) { _ = try await limited.decrypt(message, keyring: keyrings[0]) }
        _ = try await Envelope(configuration: EnvelopeConfiguration(limits: ParsingLimits(maxEncryptedDataKeys: 4))).decrypt(message, keyring: keyrings[3])
        await #expect(throws: EnvelopeError.self) { _ = try await limited.encrypt(Self.plaintext, keyring: multi) }
    }

    @Test("signed suite without its footer, or a footer on an unsigned message, is refused")
    func footerPresence() async throws {
        let signed = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)
        let layout = MessageLayout(signed, signed: true)
        #expect(!(await Self.decrypts(Array(signed[..<layout.frames.last!.upperBound]))))
        let unsigned = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKey)
        #expect(!(await Self.decrypts(unsigned + signed[layout.frames.last!.upperBound...])))
    }

    @Test("plaintext is released frame by frame, and never from a frame whose tag failed")
    func noUnauthenticatedRelease() async throws {
        let message = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKey)
        let layout = MessageLayout(message, signed: false)
        var damaged = message
        damaged[layout.frames[1].upperBound - 1] ^= 0x01 // last byte of the second frame's tag
        var decryptor = MessageDecryptor(keyring: Self.keyA)
        var released: [UInt8] = []
        var failure: Error?
        for byte in damaged {
            do { released += try await decryptor.update([byte]) } catch { failure = error; break }
        }
        #expect(failure != nil)
        #expect(released == Array(Self.plaintext[..<16]), "only the first, verified frame may be released")
    }

    @Test("a signed message holds plaintext back until the signature verifies when asked to")
    func signedStrictRelease() async throws {
        let message = try await Self.message(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)
        var decryptor = MessageDecryptor(keyring: Self.keyA, signedPlaintextRelease: .afterSignature)
        let during = try await decryptor.update(message)
        #expect(during.isEmpty)
        #expect(try decryptor.finish() == Self.plaintext)
    }
}
