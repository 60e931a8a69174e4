import Crypto
import Foundation

/// Signs a whole message as it is written (signed suites): every byte goes through a running hash
/// and the footer carries an ECDSA signature of the final digest.
struct MessageSigner {
    private let privateKey: P384.Signing.PrivateKey
    private var hash = SHA384()

    init() {
        privateKey = P384.Signing.PrivateKey()
    }

    /// The public key as the message's context carries it: base64 of the compressed point.
    var encodedPublicKey: String {
        privateKey.publicKey.compressedRepresentation.base64EncodedString()
    }

    mutating func update<D: DataProtocol>(_ bytes: D) {
        hash.update(data: bytes)
    }

    /// The footer: a 2-byte length and the DER signature.
    func footer() throws -> [UInt8] {
        let signature = try privateKey.signature(for: hash.finalize()).derRepresentation
        var writer = ByteWriter(capacity: signature.count + 2)
        try writer.writeShortLengthPrefixed(signature, what: "signature")
        return writer.bytes
    }
}

/// Checks the footer signature of a signed message against the public key in its context.
struct MessageVerifier {
    private enum State {
        case p256(P256.Signing.PublicKey, SHA256)
        case p384(P384.Signing.PublicKey, SHA384)
    }

    private var state: State

    init(suite: AlgorithmSuite, encodedPublicKey: String) throws {
        guard let point = Data(base64Encoded: encodedPublicKey) else {
            throw MessageFormatError("public key in the context is not base64")
        }
        switch suite.signature {
        case .ecdsaP256SHA256:
            state = .p256(try P256.Signing.PublicKey(compressedRepresentation: point), SHA256())
        case .ecdsaP384SHA384:
            state = .p384(try P384.Signing.PublicKey(compressedRepresentation: point), SHA384())
        case .none:
            throw MessageFormatError("suite is not signed")
        }
    }

    mutating func update<D: DataProtocol>(_ bytes: D) {
        switch state {
        case .p256(let key, var hash):
            hash.update(data: bytes)
            state = .p256(key, hash)
        case .p384(let key, var hash):
            hash.update(data: bytes)
            state = .p384(key, hash)
        }
    }

    func verify(derSignature: ArraySlice<UInt8>) throws {
        let valid: Bool
        switch state {
        case .p256(let key, let hash):
            valid = key.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: derSignature), for: hash.finalize())
        case .p384(let key, let hash):
            valid = key.isValidSignature(try P384.Signing.ECDSASignature(derRepresentation: derSignature), for: hash.finalize())
        }
        guard valid else { throw MessageFormatError("footer signature does not verify") }
    }
}
