import ArgumentParser
import CMKEnvelope
import Foundation

/// The options encrypt and decrypt share: keys, context, policy and limits.
struct EnvelopeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Wrapping key, repeatable: \(KeySpec.help). The first generates the data key; every key wraps it; any one unwraps it.", valueName: "spec"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Encryption context pair, repeatable; split at the first '='. On decrypt each pair must be in the message.", valueName: "key=value"))
    var context: [String] = []

    @Option(name: .customLong("context-file"), help: ArgumentHelp("A JSON object of string pairs, added to --context pairs (for contexts a command line cannot carry).", valueName: "path"))
    var contextFile: String?

    @Option(name: .customLong("commitment-policy"), help: "require-encrypt-require-decrypt (default), require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt.")
    var commitmentPolicy: String = CommitmentPolicy.requireEncryptRequireDecrypt.rawValue

    @Option(name: .customLong("max-encrypted-data-keys"), help: "Refuse messages carrying more encrypted data keys than this.")
    var maxEncryptedDataKeys: Int = 16

    /// How aws-kms: and local: keys are reached (--kms-endpoint REGION=URL, --profile, --local-kms).
    @OptionGroup var kms: KMSClientOptions

    func validate() throws {
        guard !key.isEmpty else { throw ValidationError("at least one --key is required (\(KeySpec.help))") }
        guard CommitmentPolicy(rawValue: commitmentPolicy) != nil else {
            throw ValidationError("--commitment-policy \(commitmentPolicy) is not one of \(CommitmentPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard maxEncryptedDataKeys >= 1 && maxEncryptedDataKeys <= Int(UInt16.max) else {
            throw ValidationError("--max-encrypted-data-keys must be between 1 and 65535")
        }
    }

    func keySpecs() throws -> [KeySpec] {
        try key.map { try KeySpec(parsing: $0) }
    }

    func encryptionContext() throws -> EncryptionContext {
        var pairs: [(String, String)] = []
        for item in context {
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError("--context \(item): expected KEY=VALUE")
            }
            pairs.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
        if let contextFile {
            guard let data = FileManager.default.contents(atPath: contextFile) else {
                throw CommandFailure(status: .noInput, message: "cannot read the context file \(contextFile)")
            }
            let fromFile = try EncryptionContext(jsonObject: data)
            pairs += fromFile.pairs.map { ($0.key, $0.value) }
        }
        return try EncryptionContext(pairs)
    }

    func configuration(suite: AlgorithmSuite = .aes256GCMHKDFSHA512CommitKey, frameLength: UInt32 = EnvelopeConfiguration.defaultFrameLength) -> EnvelopeConfiguration {
        EnvelopeConfiguration(suite: suite, frameLength: frameLength,
                              commitmentPolicy: CommitmentPolicy(rawValue: commitmentPolicy)!,
                              limits: ParsingLimits(maxEncryptedDataKeys: maxEncryptedDataKeys))
    }
}
