import ArgumentParser
import CMKEnvelope
import Foundation

/// The options encrypt and decrypt share: context, policy, limits and how KMS is reached.
///
/// `--key` is declared by each command, because its meaning differs: on encrypt the first key
/// generates the data key and every key wraps it; on decrypt any one of them unwraps it.
struct EnvelopeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Encryption context pair, repeatable; split at the first '='; keys and values must be UTF-8. On decrypt each pair must be in the message.", valueName: "key=value"))
    var context: [String] = []

    @Option(name: .customLong("context-file"), help: ArgumentHelp("A JSON object of string pairs, added to --context pairs (for contexts a command line cannot carry).", valueName: "path"))
    var contextFile: String?

    @Option(name: .customLong("commitment-policy"), help: "require-encrypt-require-decrypt (default), require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt.")
    var commitmentPolicy: String = CommitmentPolicy.requireEncryptRequireDecrypt.rawValue

    @Option(name: .customLong("max-encrypted-data-keys"), help: "At most this many encrypted data keys in a message: decrypt refuses messages with more, encrypt fails if its keys would write more.")
    var maxEncryptedDataKeys: Int = 16

    /// How aws-kms: and local: keys are reached (--kms-endpoint REGION=URL, --profile, --local-kms).
    @OptionGroup var kms: KMSClientOptions

    func validate() throws {
        guard CommitmentPolicy(rawValue: commitmentPolicy) != nil else {
            throw ValidationError("--commitment-policy \(commitmentPolicy) is not one of \(CommitmentPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard maxEncryptedDataKeys >= 1 && maxEncryptedDataKeys <= Int(UInt16.max) else {
            throw ValidationError("--max-encrypted-data-keys must be between 1 and 65535")
        }
    }

    /// The `--context` pairs and the `--context-file` pairs, refused unless every byte is UTF-8.
    func encryptionContext() throws -> EncryptionContext {
        try ContextArguments.context(pairs: context, file: contextFile)
    }

    func configuration(suite: AlgorithmSuite = .aes256GCMHKDFSHA512CommitKey, frameLength: UInt32 = EnvelopeConfiguration.defaultFrameLength) -> EnvelopeConfiguration {
        EnvelopeConfiguration(suite: suite, frameLength: frameLength,
                              commitmentPolicy: CommitmentPolicy(rawValue: commitmentPolicy)!,
                              limits: ParsingLimits(maxEncryptedDataKeys: maxEncryptedDataKeys))
    }
}
