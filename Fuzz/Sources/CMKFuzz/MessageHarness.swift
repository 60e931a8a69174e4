import CMKEnvelope
import Crypto
import Foundation

/// Decrypts arbitrary bytes as an AWS Encryption SDK message under the fixture vectors' raw AES keys.
///
/// Properties: a decrypt fails only with the one opaque error; a decrypt that succeeds returns the
/// plaintext of one of the fixture messages (the fuzzer cannot forge AES-GCM, so any other plaintext
/// means a check was skipped); feeding the same bytes in two pieces gives the same outcome as one.
enum MessageHarness {
    private struct Fixtures: Sendable {
        let keyring: MultiKeyring
        let plaintexts: Set<[UInt8]>
    }

    private static let fixtures: Fixtures = {
        let url = fixturesDirectory.appendingPathComponent("envelope/python-sdk-vectors.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let vectors = root["vectors"] as? [[String: Any]]
        else { fatalError("cannot read \(url.path)") }
        var keys: [String: [UInt8]] = [:]
        var plaintexts: Set<[UInt8]> = []
        for vector in vectors {
            plaintexts.insert(bytes(hex: vector["plaintext_hex"] as! String))
            for key in vector["keys"] as! [[String: String]] {
                keys["\(key["namespace"]!)/\(key["name"]!)"] = bytes(hex: key["key_hex"]!)
            }
        }
        let children: [any Keyring] = keys.keys.sorted().map { id in
            let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
            return try! RawAESKeyring(namespace: parts[0], name: parts[1], wrappingKey: SymmetricKey(data: keys[id]!))
        }
        return Fixtures(keyring: try! MultiKeyring(generator: nil, children: children), plaintexts: plaintexts)
    }()

    /// Reads non-committing (legacy) messages too, so their header and body paths are fuzzed.
    private static let configuration = EnvelopeConfiguration(commitmentPolicy: .requireEncryptAllowDecrypt)

    private enum Outcome: Equatable {
        case plaintext([UInt8])
        case failed
    }

    static func run(_ message: [UInt8]) {
        let fixtures = Self.fixtures
        let whole = runBlocking { () async -> Outcome in
            do {
                let decrypted = try await Envelope(configuration: configuration).decrypt(message, keyring: fixtures.keyring)
                return .plaintext(decrypted.plaintext)
            } catch {
                requireOpaque(error)
                return .failed
            }
        }
        if case .plaintext(let plaintext) = whole {
            require(fixtures.plaintexts.contains(plaintext), "a message decrypted to a plaintext no fixture holds")
        }

        // The split point comes from the bytes, so the fuzzer explores it too.
        let split = message.isEmpty ? 0 : Int(message[message.count / 2]) % (message.count + 1)
        let pieces = runBlocking { () async -> Outcome in
            var decryptor = MessageDecryptor(keyring: fixtures.keyring, configuration: configuration,
                                             signedPlaintextRelease: .afterSignature)
            do {
                var plaintext = try await decryptor.update(message[..<split])
                plaintext += try await decryptor.update(message[split...])
                plaintext += try decryptor.finish()
                return .plaintext(plaintext)
            } catch {
                requireOpaque(error)
                return .failed
            }
        }
        require(whole == pieces, "decrypting in two pieces (split at \(split)) disagrees with decrypting at once")
    }

    /// Every failure must be the single opaque error, whatever went wrong.
    private static func requireOpaque(_ error: any Error) {
        guard let error = error as? EnvelopeError else {
            require(false, "decrypt threw a non-envelope error: \(type(of: error))")
            return
        }
        require(error.code == .authenticationFailed && error.message == EnvelopeError.decryptFailed.message,
                "decrypt failed with \(error.code) rather than the opaque error: \(error.message)")
    }

    private static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
