import Crypto

extension Envelope {
    /// Moves an unsigned message to new wrapping keys without touching its body: the data key is
    /// unwrapped once, wrapped by `keyring`, and the header is rebuilt with the new encrypted data keys
    /// and a header tag recomputed under the same derived key.
    ///
    /// The message id, context, commitment and frames stay byte for byte, because the body key and
    /// the commitment come from the data key and the message id alone (message format v2); only the
    /// header's key list and tag change. A signed message (0x0578) or a legacy v1 message is refused
    /// with `not-rewrappable` before any key is asked: its footer signs the header with a key that was
    /// discarded, so the caller must re-encrypt it in full. The header is authenticated before it is
    /// rewritten; the body is not read, so a damaged body stays damaged and fails on decrypt.
    ///
    /// - Parameters:
    ///   - materials: supplies the message's data key (a keyring, or a cache over one).
    ///   - keyring: wraps the same data key for the new header; it must not generate one.
    ///   - requiredContext: pairs that must be in the message's context, checked before any key is asked.
    /// - Returns: the rewrapped message.
    public func rewrap(_ message: some Collection<UInt8>, unwrappingWith materials: some MaterialsProvider,
                       wrappingWith keyring: some Keyring, requiredContext: EncryptionContext = .empty) async throws -> [UInt8] {
        let bytes = Array(message)
        var reader = ByteReader(bytes)
        let header: MessageHeader
        let tag: ArraySlice<UInt8>
        do {
            header = try MessageHeader.parse(&reader, limits: configuration.limits)
            tag = try reader.readBytes(header.version == 1 ? AlgorithmSuite.ivLength + AlgorithmSuite.tagLength : AlgorithmSuite.tagLength)
        } catch {
            throw EnvelopeError.decryptFailed
        }
        guard header.version == 2, header.suite.isCommitting, !header.suite.isSigned else {
            throw EnvelopeError(.notRewrappable, "a message of suite \(header.suite.hexID) cannot be rewrapped (\(header.suite.isSigned ? "its footer signs the header" : "it is a legacy message")); re-encrypt it in full")
        }
        guard header.encryptionContext.contains(requiredContext) else { throw EnvelopeError.decryptFailed }
        let headerLength = reader.consumed - AlgorithmSuite.tagLength

        let unwrapped = try await materials.decryptionMaterials(
            for: DecryptionMaterialsRequest(suite: header.suite, encryptionContext: header.encryptionContext,
                                            encryptedDataKeys: header.encryptedDataKeys))
        guard let dataKey = unwrapped.plaintextDataKey else { throw EnvelopeError.decryptFailed }
        let keys = try KeyDerivation.committedKeys(dataKey: dataKey, suite: header.suite, messageID: header.messageID)
        guard constantTimeEquals(keys.commitment, header.commitment) else { throw EnvelopeError.decryptFailed }
        let cipher = try BodyCipher(key: keys.encryptionKey, messageID: header.messageID)
        do {
            try cipher.verifyHeader(bytes[0..<headerLength], iv: BodyCipher.headerIV[...], tag: tag)
        } catch {
            throw EnvelopeError.decryptFailed
        }

        var wrapping = EncryptionMaterials(suite: header.suite, encryptionContext: header.encryptionContext)
        try wrapping.setPlaintextDataKey(dataKey)
        wrapping = try await keyring.onEncrypt(wrapping)
        guard !wrapping.encryptedDataKeys.isEmpty else {
            throw EnvelopeError(.noDataKey, "no keyring wrapped the data key")
        }
        guard wrapping.encryptedDataKeys.count <= configuration.limits.maxEncryptedDataKeys else {
            throw EnvelopeError(.policyViolation, "keyrings produced \(wrapping.encryptedDataKeys.count) encrypted data keys; the limit is \(configuration.limits.maxEncryptedDataKeys)")
        }

        var rewritten = header
        rewritten.encryptedDataKeys = wrapping.encryptedDataKeys
        var output = try rewritten.serialized()
        output.append(contentsOf: try cipher.headerTag(header: output))
        output.append(contentsOf: bytes[reader.consumed...])
        return output
    }

    /// Rewraps a message whose data key `current` unwraps; see `rewrap(_:unwrappingWith:wrappingWith:requiredContext:)`.
    public func rewrap(_ message: some Collection<UInt8>, from current: some Keyring, to keyring: some Keyring,
                       requiredContext: EncryptionContext = .empty) async throws -> [UInt8] {
        try await rewrap(message, unwrappingWith: KeyringMaterials(keyring: current), wrappingWith: keyring, requiredContext: requiredContext)
    }
}
