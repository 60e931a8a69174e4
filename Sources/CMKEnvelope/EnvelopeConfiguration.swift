/// How messages are written and which messages are accepted.
public struct EnvelopeConfiguration: Sendable {
    /// The suite new messages are written with.
    public var suite: AlgorithmSuite
    /// Plaintext bytes per frame (1 through 2^32 - 1).
    public var frameLength: UInt32
    public var commitmentPolicy: CommitmentPolicy
    public var limits: ParsingLimits

    public static let defaultFrameLength: UInt32 = 4096

    public init(suite: AlgorithmSuite = .aes256GCMHKDFSHA512CommitKey, frameLength: UInt32 = defaultFrameLength,
                commitmentPolicy: CommitmentPolicy = .requireEncryptRequireDecrypt, limits: ParsingLimits = ParsingLimits()) {
        self.suite = suite
        self.frameLength = frameLength
        self.commitmentPolicy = commitmentPolicy
        self.limits = limits
    }
}
