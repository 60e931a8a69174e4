/// Combines keyrings: a generator that makes the data key, and children that each wrap it too,
/// so a message carries several encrypted data keys and any one keyring can open it.
public struct MultiKeyring: Keyring {
    public let generator: (any Keyring)?
    public let children: [any Keyring]

    public init(generator: (any Keyring)?, children: [any Keyring] = []) throws {
        guard generator != nil || !children.isEmpty else {
            throw EnvelopeError(.invalidArgument, "a multi-keyring needs a generator or at least one child")
        }
        self.generator = generator
        self.children = children
    }

    public func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        var materials = materials
        if let generator {
            materials = try await generator.onEncrypt(materials)
        }
        guard materials.plaintextDataKey != nil else {
            throw EnvelopeError(.noDataKey, "the multi-keyring has no generator and the materials carry no data key")
        }
        for child in children {
            materials = try await child.onEncrypt(materials)
        }
        return materials
    }

    /// Tries the generator, then each child in order; the first data key wins. Errors from keyrings
    /// are collected and reported only when no keyring succeeded.
    public func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        guard materials.plaintextDataKey == nil else { return materials }
        var failures: [any Error] = []
        for keyring in [generator].compactMap({ $0 }) + children {
            do {
                let result = try await keyring.onDecrypt(materials, encryptedDataKeys: encryptedDataKeys)
                if result.plaintextDataKey != nil { return result }
            } catch {
                failures.append(error)
            }
        }
        if failures.count == 1 { throw failures[0] }
        if !failures.isEmpty {
            throw EnvelopeError(.keyringFailure, "no keyring unwrapped a data key: " + failures.map { "\($0)" }.joined(separator: "; "))
        }
        return materials
    }
}
