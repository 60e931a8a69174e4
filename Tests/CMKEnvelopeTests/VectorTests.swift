import CMKEnvelope
import Crypto
import Foundation
import Testing

/// Fixed messages written by the Python SDK (fixtures/envelope/python-sdk-vectors.json) decrypt
/// here without any peer installed.
@Suite("Python SDK vectors")
struct VectorTests {
    struct File: Decodable { let vectors: [Vector] }
    struct Vector: Decodable, CustomTestStringConvertible {
        struct Key: Decodable { let namespace: String; let name: String; let key_hex: String }
        let id: String
        let suite: String
        let context: [[String]]
        let keys: [Key]
        let plaintext_hex: String
        let message_base64: String
        let commitment_policy: String
        var testDescription: String { id }
    }

    static let vectors: [Vector] = {
        let url = PythonPeer.packageRoot.appendingPathComponent("fixtures/envelope/python-sdk-vectors.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }()

    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test("each vector decrypts with each of its keys", arguments: vectors)
    func decrypts(vector: Vector) async throws {
        let message = [UInt8](Data(base64Encoded: vector.message_base64)!)
        let envelope = Envelope(configuration: EnvelopeConfiguration(commitmentPolicy: CommitmentPolicy(rawValue: vector.commitment_policy)!))
        for key in vector.keys {
            let keyring = try RawAESKeyring(namespace: key.namespace, name: key.name, wrappingKey: SymmetricKey(data: Self.bytes(hex: key.key_hex)))
            let result = try await envelope.decrypt(message, keyring: keyring, requiredContext: try EncryptionContext(vector.context.map { ($0[0], $0[1]) }))
            #expect(result.plaintext == Self.bytes(hex: vector.plaintext_hex))
            #expect(result.suite.hexID == vector.suite)
        }
    }
}
