import Crypto
import Foundation
import Logging

/// When plaintext of a signed message may leave the decryptor.
public enum SignedPlaintextRelease: Sendable {
    /// Each frame's plaintext is released once its own AES-GCM tag verifies, before the footer
    /// signature is checked. The plaintext is authentic (it was encrypted under the message's data
    /// key), but a holder of that data key could have written it without the signing key, and a
    /// truncated or re-signed message is only detected at `finish()`. This is the AWS Encryption
    /// SDK's streaming behaviour.
    case afterEachFrame
    /// Nothing is released before the signature verifies: the plaintext is held in memory until
    /// `finish()`. Use for small messages; for large ones write to a temporary file and publish it
    /// only after `finish()` succeeds, as `cmkctl decrypt --output` does.
    case afterSignature
}

/// Reads one message incrementally and releases plaintext only from authenticated frames.
///
/// Feed bytes as they arrive with `update`; call `finish` at the end of input, which fails unless
/// the message was complete, verified, and followed by nothing. Every parsing or authentication
/// failure surfaces as `EnvelopeError.decryptFailed`; the reason is logged at debug level.
public struct MessageDecryptor {
    private enum Phase {
        case header
        case body
        case footer
        case done
    }

    public let configuration: EnvelopeConfiguration
    private let provider: any MaterialsProvider
    private let requiredContext: EncryptionContext
    private let release: SignedPlaintextRelease
    private let logger: Logger

    private var phase = Phase.header
    private var buffer: [UInt8] = []
    private var readOffset = 0
    private var header: MessageHeader?
    private var cipher: BodyCipher?
    private var verifier: MessageVerifier?
    private var nextSequenceNumber: UInt32 = 1
    private var withheld: [UInt8] = []
    private var failed = false

    /// The parsed header's context, available once the header has been authenticated.
    public private(set) var encryptionContext: EncryptionContext?
    /// The header's encrypted data keys, available once the header has been authenticated: which
    /// wrapping keys (and so which key generation) protect the message.
    public private(set) var encryptedDataKeys: [EncryptedDataKey]?
    public var suite: AlgorithmSuite? { header?.suite }

    /// - Parameters:
    ///   - requiredContext: pairs that must be present, with the same bytes, in the message's context.
    public init(keyring: some Keyring, requiredContext: EncryptionContext = .empty,
                configuration: EnvelopeConfiguration = EnvelopeConfiguration(),
                signedPlaintextRelease: SignedPlaintextRelease = .afterEachFrame,
                logger: Logger = Logger(label: "cmk.envelope")) {
        self.init(materials: KeyringMaterials(keyring: keyring), requiredContext: requiredContext, configuration: configuration,
                  signedPlaintextRelease: signedPlaintextRelease, logger: logger)
    }

    /// A decryptor that gets the data key from a materials provider (a cache, say) instead of a keyring.
    ///
    /// - Parameters:
    ///   - requiredContext: pairs that must be present, with the same bytes, in the message's context;
    ///     checked before the provider is asked, so a message naming another context costs no KMS call.
    public init(materials provider: some MaterialsProvider, requiredContext: EncryptionContext = .empty,
                configuration: EnvelopeConfiguration = EnvelopeConfiguration(),
                signedPlaintextRelease: SignedPlaintextRelease = .afterEachFrame,
                logger: Logger = Logger(label: "cmk.envelope")) {
        self.provider = provider
        self.requiredContext = requiredContext
        self.configuration = configuration
        self.release = signedPlaintextRelease
        self.logger = logger
    }

    /// Takes more message bytes; returns plaintext from frames that authenticated.
    public mutating func update<C: Collection>(_ bytes: C) async throws -> [UInt8] where C.Element == UInt8 {
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(bytes.count)
        try await update(bytes, into: &plaintext)
        return plaintext
    }

    /// Takes more message bytes and appends the plaintext of frames that authenticated to
    /// `plaintext`; reusing one buffer across calls keeps a stream free of per-chunk allocations.
    public mutating func update<C: Collection>(_ bytes: C, into plaintext: inout [UInt8]) async throws where C.Element == UInt8 {
        guard !failed else { throw EnvelopeError.decryptFailed }
        appendContiguously(bytes, to: &buffer)
        do {
            try await advance(into: &plaintext)
            compactBuffer()
        } catch {
            throw fail(error)
        }
    }

    /// Ends the input: succeeds only if the message was whole and valid and nothing followed it.
    public mutating func finish() throws -> [UInt8] {
        guard !failed else { throw EnvelopeError.decryptFailed }
        guard phase == .done else {
            throw fail(MessageFormatError("message ends early (in the \(phase))"))
        }
        guard readOffset == buffer.count else {
            throw fail(MessageFormatError("\(buffer.count - readOffset) bytes follow the end of the message"))
        }
        defer { withheld = [] }
        return withheld
    }

    /// Marks an error a keyring threw (a KMS refused): reported as it is, since it names no secret
    /// and callers need it to tell a revoked key from a damaged message.
    private struct KeyringThrew: Error {
        let underlying: any Error
    }

    private mutating func fail(_ error: any Error) -> any Error {
        failed = true
        withheld = []
        switch error {
        case let keyringError as KeyringThrew:
            logger.debug("decrypt failed in a keyring", metadata: ["error": "\(keyringError.underlying)"])
            return keyringError.underlying
        case let envelopeError as EnvelopeError where envelopeError.code == .policyViolation:
            return envelopeError
        default:
            logger.debug("decrypt failed", metadata: ["reason": "\(error)"])
            return EnvelopeError.decryptFailed
        }
    }

    private mutating func advance(into plaintext: inout [UInt8]) async throws {
        while true {
            switch phase {
            case .header:
                guard try await readHeader() else { return }
            case .body:
                if header!.suite.isSigned && release == .afterSignature {
                    // Swapped out (O(1)) so the frame can be appended without overlapping access to self.
                    var held = withheld
                    withheld = []
                    let progressed = try readBodyPiece(into: &held)
                    withheld = held
                    guard progressed else { return }
                } else {
                    guard try readBodyPiece(into: &plaintext) else { return }
                }
            case .footer:
                guard try readFooter() else { return }
            case .done:
                if readOffset < buffer.count {
                    throw MessageFormatError("\(buffer.count - readOffset) bytes follow the end of the message")
                }
                return
            }
        }
    }

    /// Parses, checks and authenticates the header; false when more bytes are needed.
    private mutating func readHeader() async throws -> Bool {
        var reader = ByteReader(buffer[readOffset...])
        let parsed: MessageHeader
        let authIV: ArraySlice<UInt8>
        let authTag: ArraySlice<UInt8>
        do {
            parsed = try MessageHeader.parse(&reader, limits: configuration.limits)
            authIV = parsed.version == 1 ? try reader.readBytes(AlgorithmSuite.ivLength) : BodyCipher.headerIV[...]
            authTag = try reader.readBytes(AlgorithmSuite.tagLength)
        } catch is NeedMoreBytes {
            if buffer.count - readOffset > configuration.limits.maxHeaderBytes {
                throw MessageFormatError("header is larger than \(configuration.limits.maxHeaderBytes) bytes")
            }
            return false
        }
        let headerEnd = readOffset + reader.consumed - AlgorithmSuite.tagLength - (parsed.version == 1 ? AlgorithmSuite.ivLength : 0)
        let headerBytes = buffer[readOffset..<headerEnd]

        guard configuration.commitmentPolicy.allowsDecrypt(of: parsed.suite) else {
            throw EnvelopeError(.policyViolation, "message uses the non-committing suite \(parsed.suite.hexID), which commitment policy \(configuration.commitmentPolicy.rawValue) refuses")
        }
        guard parsed.encryptionContext.contains(requiredContext) else {
            throw MessageFormatError("message context lacks a required pair")
        }

        let materials: DecryptionMaterials
        do {
            materials = try await provider.decryptionMaterials(
                for: DecryptionMaterialsRequest(suite: parsed.suite, encryptionContext: parsed.encryptionContext,
                                                encryptedDataKeys: parsed.encryptedDataKeys))
        } catch {
            throw KeyringThrew(underlying: error)
        }
        guard let dataKey = materials.plaintextDataKey else {
            throw MessageFormatError("no keyring could unwrap any of the \(parsed.encryptedDataKeys.count) encrypted data keys")
        }
        let encryptionKey: SymmetricKey
        if parsed.suite.isCommitting {
            let keys = try KeyDerivation.committedKeys(dataKey: dataKey, suite: parsed.suite, messageID: parsed.messageID)
            guard constantTimeEquals(keys.commitment, parsed.commitment) else {
                throw MessageFormatError("key commitment does not match")
            }
            encryptionKey = keys.encryptionKey
        } else {
            encryptionKey = try KeyDerivation.encryptionKey(dataKey: dataKey, suite: parsed.suite, messageID: parsed.messageID)
        }
        let cipher = try BodyCipher(key: encryptionKey, messageID: parsed.messageID)
        try cipher.verifyHeader(headerBytes, iv: authIV, tag: authTag)

        if parsed.suite.isSigned {
            var verifier = try MessageVerifier(suite: parsed.suite, encodedPublicKey: parsed.encryptionContext[EncryptionContext.publicKeyKey]!)
            verifier.update(buffer[readOffset..<(readOffset + reader.consumed)])
            self.verifier = verifier
        }
        self.header = parsed
        self.cipher = cipher
        self.encryptionContext = parsed.encryptionContext
        self.encryptedDataKeys = parsed.encryptedDataKeys
        readOffset += reader.consumed
        phase = .body
        return true
    }

    /// Reads one frame (or the non-framed body); nil when more bytes are needed.
    private mutating func readBodyPiece(into output: inout [UInt8]) throws -> Bool {
        guard let header, let cipher else { throw EnvelopeError(.misuse, "body before header") }
        var reader = ByteReader(buffer[readOffset...])
        do {
            switch header.contentType {
            case .framed:
                try readFrame(&reader, header: header, cipher: cipher, into: &output)
            case .nonFramed:
                try readSingleBlock(&reader, cipher: cipher, into: &output)
            }
        } catch is NeedMoreBytes {
            return false
        }
        verifier?.update(buffer[readOffset..<(readOffset + reader.consumed)])
        readOffset += reader.consumed
        return true
    }

    private mutating func readFrame(_ reader: inout ByteReader, header: MessageHeader, cipher: BodyCipher, into output: inout [UInt8]) throws {
        let frameLength = Int(header.frameLength)
        let marker = try reader.readUInt32()
        let isFinal = marker == UInt32.max
        let sequenceNumber = isFinal ? try reader.readUInt32() : marker
        guard sequenceNumber == nextSequenceNumber else {
            throw MessageFormatError("frame sequence number \(sequenceNumber) where \(nextSequenceNumber) was expected")
        }
        let iv = try reader.readBytes(AlgorithmSuite.ivLength)
        guard iv.elementsEqual(BodyCipher.iv(sequenceNumber: sequenceNumber)) else {
            throw MessageFormatError("frame \(sequenceNumber) IV is not its sequence IV")
        }
        let contentLength = isFinal ? Int(try reader.readUInt32()) : frameLength
        guard contentLength <= frameLength else {
            throw MessageFormatError("final frame holds \(contentLength) bytes, more than the frame length \(frameLength)")
        }
        let ciphertext = try reader.readBytes(contentLength)
        let tag = try reader.readBytes(AlgorithmSuite.tagLength)
        try cipher.open(ciphertext: ciphertext, tag: tag, iv: iv, piece: isFinal ? .finalFrame : .frame,
                        sequenceNumber: sequenceNumber, into: &output)
        nextSequenceNumber += 1
        if isFinal {
            phase = header.suite.isSigned ? .footer : .done
        }
    }

    private mutating func readSingleBlock(_ reader: inout ByteReader, cipher: BodyCipher, into output: inout [UInt8]) throws {
        let iv = try reader.readBytes(AlgorithmSuite.ivLength)
        guard iv.elementsEqual(BodyCipher.iv(sequenceNumber: 1)) else {
            throw MessageFormatError("non-framed body IV is not the sequence IV")
        }
        let length = try reader.readUInt64()
        guard length <= UInt64(configuration.limits.maxFrameBytes) else {
            throw MessageFormatError("non-framed body of \(length) bytes exceeds the limit \(configuration.limits.maxFrameBytes)")
        }
        let ciphertext = try reader.readBytes(Int(length))
        let tag = try reader.readBytes(AlgorithmSuite.tagLength)
        try cipher.open(ciphertext: ciphertext, tag: tag, iv: iv, piece: .singleBlock, sequenceNumber: 1, into: &output)
        phase = header!.suite.isSigned ? .footer : .done
    }

    /// Reads and verifies the footer signature; false when more bytes are needed.
    private mutating func readFooter() throws -> Bool {
        var reader = ByteReader(buffer[readOffset...])
        let signature: ArraySlice<UInt8>
        do {
            signature = try reader.readShortLengthPrefixed()
        } catch is NeedMoreBytes {
            return false
        }
        guard let verifier else { throw EnvelopeError(.misuse, "footer without a verifier") }
        try verifier.verify(derSignature: signature)
        readOffset += reader.consumed
        phase = .done
        return true
    }

    /// Drops consumed bytes once they are most of the buffer, so memory stays near one frame.
    private mutating func compactBuffer() {
        if readOffset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readOffset = 0
        } else if readOffset > 0 && readOffset >= buffer.count / 2 {
            buffer.removeFirst(readOffset)
            readOffset = 0
        }
    }
}
