import CMKEnvelope
import CMKKMS

/// Tells which of a tenant's key generations wrote a message, from its header alone: the key ARNs
/// of its encrypted data keys, matched against the generations' keys. No key is asked and nothing is
/// decrypted, so a ledger scan or a sweep can sort millions of items cheaply.
///
/// Pure: an alias (the operator's provider key, generation 0, is often one) cannot be matched from a
/// header, which names the key it resolved to, so the caller resolves aliases once (DescribeKey)
/// and passes them in. A message no generation claims is reported as `unknown`, with the keys it
/// names, never attributed to a guess: a sweep must not skip it as current, and a ledger must not
/// count it under a generation that may be retired.
public struct GenerationReader: Sendable {
    /// What a header says about the message's generation.
    public enum Outcome: Sendable, Equatable {
        /// The newest generation one of whose keys made a copy of the data key.
        case generation(Int, suite: AlgorithmSuite)
        /// No generation holds a key that made a copy; the copies' keys, as `provider-id key-id`.
        case unknown(keys: [String], suite: AlgorithmSuite)
        /// The bytes are not a message header of a format this reader knows.
        case unreadable
    }

    /// Key ARN → the newest generation that has it.
    private let generationByKey: [String: Int]
    /// Aliases among the generations' keys with no resolution given: reported when nothing matches.
    public let unresolvedAliases: [String]

    /// - Parameters:
    ///   - generations: the tenant's generations (any order).
    ///   - resolvedAliases: alias ARN → the key ARN it names now, for every alias among the keys.
    public init(generations: [KeyGeneration], resolvedAliases: [String: String] = [:]) {
        var byKey: [String: Int] = [:]
        var unresolved: [String] = []
        for generation in generations.sorted(by: { $0.number < $1.number }) {
            for key in generation.keys {
                let isAlias = (try? KeyARN(validating: key.keyARN, allowAlias: true))?.isAlias ?? false
                if isAlias {
                    if let target = resolvedAliases[key.keyARN] {
                        byKey[target] = generation.number
                    } else {
                        unresolved.append(key.keyARN)
                    }
                } else {
                    byKey[key.keyARN] = generation.number
                }
            }
        }
        self.generationByKey = byKey
        self.unresolvedAliases = unresolved
    }

    /// The generation of the message whose header `summary` is.
    ///
    /// A key kept by two generations makes the message decryptable under both; the newer one is
    /// reported, since retiring the older leaves the message readable.
    public func read(_ summary: MessageHeaderSummary) -> Outcome {
        var newest: Int?
        var named: [String] = []
        for key in summary.encryptedDataKeys {
            let info = String(decoding: key.providerInfo, as: UTF8.self)
            if key.providerIDString == KMSKeyring.providerID, let number = generationByKey[info] {
                newest = max(newest ?? number, number)
            }
            named.append(key.providerIDString + " " + (key.providerIDString == KMSKeyring.providerID ? info : Self.printable(key.providerInfo)))
        }
        guard let newest else { return .unknown(keys: named, suite: summary.suite) }
        return .generation(newest, suite: summary.suite)
    }

    /// The generation of `message`, reading only its header.
    public func read(message: some Collection<UInt8>) -> Outcome {
        guard let summary = try? MessageHeaderSummary(reading: message) else { return .unreadable }
        return read(summary)
    }

    /// A raw keyring's info holds binary (tag length, IV) after the key name: the printable prefix.
    private static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self)
    }
}
