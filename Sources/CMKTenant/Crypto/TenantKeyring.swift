import CMKEnvelope
import CMKKMS

/// A tenant's key generations as a keyring, with the multi-region rules of CMKKMS: encrypt wraps
/// under every region of the current generation that answers (at least the configured minimum);
/// decrypt tries the keys of every generation the tenant still has, healthiest region first, hedged.
///
/// Clients are made only when the keyring is used, which with the materials cache is on a miss or
/// a refresh: a cache hit builds nothing and calls nothing.
struct TenantKeyring: Keyring {
    let keys: [KeyGeneration.RegionalKey]
    let kms: TenantKMS
    let configuration: MultiRegionKeyring.Configuration
    let monitor: RegionHealthMonitor
    let counter: KMSCallCounter

    func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        // An alias wraps as well as a key ARN: KMS reports the key ARN it used, which the header stores.
        let regional = try keys.map { key in RegionalKey(keyARN: key.keyARN, client: try client(for: key), region: key.region) }
        var configuration = self.configuration
        // A generation with fewer regions than the configured minimum needs all of its regions.
        configuration.minimumRegions = min(configuration.minimumRegions, keys.count)
        return try await MultiRegionKeyring(keys: regional, configuration: configuration, monitor: monitor).onEncrypt(materials)
    }

    /// Asks only the keys that made one of the message's copies, so a generation the message is not
    /// under costs nothing (no client, no credentials). The operator's alias (generation 0) is
    /// resolved only when no key ARN of another generation matches.
    func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        let named = Set(encryptedDataKeys.filter { $0.providerIDString == KMSKeyring.providerID }
            .map { String(decoding: $0.providerInfo, as: UTF8.self) })
        var regional: [RegionalKey] = []
        var aliases: [KeyGeneration.RegionalKey] = []
        for key in keys {
            if try KeyARN(validating: key.keyARN, allowAlias: true).isAlias {
                aliases.append(key)
            } else if named.contains(key.keyARN) {
                regional.append(RegionalKey(keyARN: key.keyARN, client: try client(for: key), region: key.region))
            }
        }
        if regional.isEmpty {
            for key in aliases {
                let client = try client(for: key)
                let arn = try await Self.keyARN(of: key.keyARN, client: client)
                if named.contains(arn) { regional.append(RegionalKey(keyARN: arn, client: client, region: key.region)) }
            }
        }
        guard !regional.isEmpty else { return materials }
        return try await MultiRegionKeyring(keys: regional, configuration: configuration, monitor: monitor)
            .onDecrypt(materials, encryptedDataKeys: encryptedDataKeys)
    }

    private func client(for key: KeyGeneration.RegionalKey) throws -> CountedKMSClient {
        CountedKMSClient(client: try kms.client(forKey: key.keyARN), counter: counter)
    }

    /// The key ARN behind `key`: itself, or for the operator's alias (generation 0) the key it names
    /// now, since a header stores key ARNs and decrypt only tries copies made by its own keys.
    static func keyARN(of key: String, client: some KMSClient) async throws -> String {
        guard try KeyARN(validating: key, allowAlias: true).isAlias else { return key }
        return try await client.describeKey(keyID: key).arn
    }
}
