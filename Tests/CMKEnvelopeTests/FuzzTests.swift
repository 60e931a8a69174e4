import CMKEnvelope
import Crypto
import Foundation
import Testing

/// Random damage to valid messages, fed to the parser for a bounded time: it must refuse or
/// decrypt correctly, and never crash or hang.
@Suite("Parser fuzzing")
struct FuzzTests {
    /// A small deterministic generator, so a failure can be replayed from the printed seed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ message: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = message
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let index = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: bytes[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1: bytes[index] = UInt8.random(in: 0...255, using: &rng)
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
            case 3: bytes.remove(at: index)
            case 4: bytes = Array(bytes[..<index])
            case 5: // A length-looking field set to an extreme value.
                if index + 1 < bytes.count { bytes[index] = 0xFF; bytes[index + 1] = 0xFF }
            default: // Splice a copy of a random slice somewhere else.
                let end = min(bytes.count, index + Int.random(in: 1...64, using: &rng))
                let slice = bytes[index..<end]
                bytes.insert(contentsOf: slice, at: Int.random(in: 0...bytes.count, using: &rng))
            }
        }
        return bytes
    }

    @Test("mutated messages are refused or decrypt to the original, within a time bound")
    func mutations() async throws {
        let keyring = try RawAESKeyring(namespace: "fuzz", name: "k", wrappingKey: SymmetricKey(size: .bits256))
        let plaintext = Array("fuzzing the parser with damaged messages".utf8)
        var seeds: [[UInt8]] = []
        for suite in [AlgorithmSuite.aes256GCMHKDFSHA512CommitKey, .aes256GCMHKDFSHA512CommitKeyECDSAP384] {
            for frameLength: UInt32 in [7, 4096] {
                let envelope = Envelope(configuration: EnvelopeConfiguration(suite: suite, frameLength: frameLength))
                seeds.append(try await envelope.encrypt(plaintext, context: try EncryptionContext([("k", "v")]), keyring: keyring))
            }
        }
        let seed = UInt64(Date().timeIntervalSince1970)
        var rng = SplitMix64(state: seed)
        let deadline = ContinuousClock.now + .seconds(8)
        var iterations = 0
        var refused = 0
        while ContinuousClock.now < deadline && iterations < 20_000 {
            let original = seeds[iterations % seeds.count]
            let mutated = Self.mutate(original, using: &rng)
            var decryptor = MessageDecryptor(keyring: keyring)
            do {
                // Feed in two uneven pieces to exercise the incremental paths too.
                let cut = mutated.isEmpty ? 0 : Int.random(in: 0...mutated.count, using: &rng)
                var output = try await decryptor.update(mutated[..<cut])
                output += try await decryptor.update(mutated[cut...])
                output += try decryptor.finish()
                #expect(output == plaintext, "seed \(seed) iteration \(iterations): a mutated message decrypted to other plaintext")
            } catch let error as EnvelopeError {
                #expect(error.code == .authenticationFailed, "seed \(seed): unexpected code \(error.code)")
                refused += 1
            }
            iterations += 1
        }
        #expect(iterations > 200, "the fuzz loop ran only \(iterations) iterations")
        #expect(refused > iterations * 9 / 10)
    }

    @Test("random bytes are refused")
    func randomBytes() async throws {
        let keyring = try RawAESKeyring(namespace: "fuzz", name: "k", wrappingKey: SymmetricKey(size: .bits256))
        var rng = SplitMix64(state: 42)
        for length in 0..<600 {
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if length > 2 { bytes[0] = 0x02; bytes[1] = 0x04; bytes[2] = 0x78 }
            await #expect(throws: EnvelopeError.self) { _ = try await Envelope().decrypt(bytes, keyring: keyring) }
        }
    }
}
