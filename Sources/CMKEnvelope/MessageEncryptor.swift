import Crypto
import Foundation

/// Writes one message incrementally: header first, then a frame each time a frame's worth of
/// plaintext has arrived, then the final frame and (signed suites) the footer.
///
/// Memory stays at about one frame whatever the message size, which is what lets `cmkctl encrypt`
/// stream a file of any length.
public struct MessageEncryptor: Sendable {
    public let suite: AlgorithmSuite
    public let encryptionContext: EncryptionContext
    /// Copies of the data key in the header, one per wrapping key.
    public let encryptedDataKeys: [EncryptedDataKey]

    private let cipher: BodyCipher
    private let frameLength: Int
    private var signer: MessageSigner?
    private var pending: [UInt8] = []
    /// The header, sent ahead of the first bytes the caller asks for.
    private var unsentHeader: [UInt8]?
    private var nextSequenceNumber: UInt32 = 1
    private var finished = false

    /// Gets a data key from the keyring and writes the header; the header bytes come out of the
    /// first `update` or `finish`.
    public init(keyring: some Keyring, encryptionContext: EncryptionContext,
                configuration: EnvelopeConfiguration = EnvelopeConfiguration()) async throws {
        try await self.init(materials: KeyringMaterials(keyring: keyring), encryptionContext: encryptionContext,
                            configuration: configuration)
    }

    /// Gets a data key from a materials provider (a cache, say) and writes the header.
    ///
    /// - Parameter plaintextLength: the message's plaintext size when known; a cache counts it
    ///   against its byte limits, and does not serve a message of unknown size from a shared entry.
    public init(materials provider: some MaterialsProvider, encryptionContext: EncryptionContext,
                configuration: EnvelopeConfiguration = EnvelopeConfiguration(), plaintextLength: Int? = nil) async throws {
        let suite = configuration.suite
        guard suite.messageFormatVersion == 2 else {
            throw EnvelopeError(.policyViolation, "suite \(suite.hexID) is a legacy v1 suite; it is accepted for decrypt only")
        }
        guard configuration.commitmentPolicy.allowsEncrypt(with: suite) else {
            throw EnvelopeError(.policyViolation, "commitment policy \(configuration.commitmentPolicy.rawValue) forbids encrypting with \(suite.hexID)")
        }
        guard configuration.frameLength > 0 else {
            throw EnvelopeError(.invalidArgument, "frame length must be between 1 and 4294967295")
        }
        if let reserved = encryptionContext.pairs.first(where: { $0.key.utf8.starts(with: EncryptionContext.reservedPrefix.utf8) }) {
            throw EnvelopeError(.invalidArgument, "encryption context key \"\(reserved.key)\" uses the reserved prefix \(EncryptionContext.reservedPrefix)")
        }

        var context = encryptionContext
        var signer: MessageSigner?
        if suite.isSigned {
            let newSigner = MessageSigner()
            context = try context.adding(EncryptionContext.publicKeyKey, newSigner.encodedPublicKey)
            signer = newSigner
        }

        let materials = try await provider.encryptionMaterials(
            for: EncryptionMaterialsRequest(suite: suite, encryptionContext: context, plaintextLength: plaintextLength))
        guard let dataKey = materials.plaintextDataKey else {
            throw EnvelopeError(.noDataKey, "no keyring generated a data key")
        }
        guard !materials.encryptedDataKeys.isEmpty else {
            throw EnvelopeError(.noDataKey, "no keyring wrapped the data key")
        }
        guard materials.encryptedDataKeys.count <= configuration.limits.maxEncryptedDataKeys else {
            throw EnvelopeError(.policyViolation, "keyrings produced \(materials.encryptedDataKeys.count) encrypted data keys; the limit is \(configuration.limits.maxEncryptedDataKeys)")
        }

        let messageID = try SecureRandom.bytes(suite.messageIDLength)
        let keys = try KeyDerivation.committedKeys(dataKey: dataKey, suite: suite, messageID: messageID)
        let header = MessageHeader(
            version: 2, suite: suite, messageID: messageID, encryptionContext: context,
            encryptedDataKeys: materials.encryptedDataKeys, contentType: .framed, frameLength: configuration.frameLength,
            commitment: keys.commitment)
        let cipher = try BodyCipher(key: keys.encryptionKey, messageID: messageID)
        var headerBytes = try header.serialized()
        headerBytes.append(contentsOf: try cipher.headerTag(header: headerBytes))

        self.suite = suite
        self.encryptionContext = context
        self.encryptedDataKeys = materials.encryptedDataKeys
        self.cipher = cipher
        self.frameLength = Int(configuration.frameLength)
        self.signer = signer
        self.unsentHeader = headerBytes
    }

    /// Takes more plaintext; returns the message bytes that are ready (whole frames).
    ///
    /// A frame is written only once more plaintext follows it, so that the last frame written is
    /// always the final frame and never an empty one after an exact multiple of the frame length.
    public mutating func update<C: Collection>(_ plaintext: C) throws -> [UInt8] where C.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(plaintext.count + plaintext.count / max(frameLength, 1) * 32 + 64)
        try update(plaintext, into: &output)
        return output
    }

    /// Takes more plaintext and appends the message bytes that are ready to `output`; reusing one
    /// output buffer across calls keeps a stream free of per-chunk allocations.
    public mutating func update<C: Collection>(_ plaintext: C, into output: inout [UInt8]) throws where C.Element == UInt8 {
        guard !finished else { throw EnvelopeError(.misuse, "update after finish") }
        flushHeader(into: &output)
        let handled: Void? = try plaintext.withContiguousStorageIfAvailable { try consume($0, into: &output) }
        if handled == nil {
            try Array(plaintext).withUnsafeBufferPointer { try consume($0, into: &output) }
        }
    }

    /// Writes the final frame and the footer; returns the last message bytes.
    public mutating func finish() throws -> [UInt8] {
        var output: [UInt8] = []
        try finish(into: &output)
        return output
    }

    /// Appends the final frame and the footer to `output`.
    public mutating func finish(into output: inout [UInt8]) throws {
        guard !finished else { throw EnvelopeError(.misuse, "finish called twice") }
        flushHeader(into: &output)
        let last = pending
        try last.withUnsafeBytes { try sealFrame($0, final: true, into: &output) }
        pending = []
        finished = true
        if let signer {
            output.append(contentsOf: try signer.footer())
        }
    }

    /// Seals whole frames straight from the caller's bytes; only a partial frame is copied aside.
    private mutating func consume(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws {
        var rest = input[...]
        if !pending.isEmpty {
            let take = min(frameLength - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard !rest.isEmpty else { return }
            let full = pending
            try full.withUnsafeBytes { try sealFrame($0, final: false, into: &output) }
            pending.removeAll(keepingCapacity: true)
        }
        while rest.count > frameLength {
            try sealFrame(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: rest.prefix(frameLength))), final: false, into: &output)
            rest = rest.dropFirst(frameLength)
        }
        pending.append(contentsOf: rest)
    }

    private mutating func flushHeader(into output: inout [UInt8]) {
        guard let header = unsentHeader else { return }
        unsentHeader = nil
        emit(header, into: &output)
    }

    private mutating func sealFrame(_ plaintext: UnsafeRawBufferPointer, final: Bool, into output: inout [UInt8]) throws {
        let sequenceNumber = nextSequenceNumber
        guard sequenceNumber != UInt32.max else {
            throw EnvelopeError(.invalidArgument, "message would need more than 4294967294 frames; use a larger frame length")
        }
        let start = output.count
        if final {
            appendUInt32(UInt32.max, to: &output)
            appendUInt32(sequenceNumber, to: &output)
            output.append(contentsOf: BodyCipher.iv(sequenceNumber: sequenceNumber))
            appendUInt32(UInt32(plaintext.count), to: &output)
        } else {
            appendUInt32(sequenceNumber, to: &output)
            output.append(contentsOf: BodyCipher.iv(sequenceNumber: sequenceNumber))
        }
        try cipher.seal(plaintext, piece: final ? .finalFrame : .frame, sequenceNumber: sequenceNumber, into: &output)
        signer?.update(output[start...])
        nextSequenceNumber += 1
    }

    private mutating func emit(_ bytes: [UInt8], into output: inout [UInt8]) {
        signer?.update(bytes)
        output.append(contentsOf: bytes)
    }

    private func appendUInt32(_ value: UInt32, to output: inout [UInt8]) {
        output.append(UInt8(truncatingIfNeeded: value >> 24))
        output.append(UInt8(truncatingIfNeeded: value >> 16))
        output.append(UInt8(truncatingIfNeeded: value >> 8))
        output.append(UInt8(truncatingIfNeeded: value))
    }
}
