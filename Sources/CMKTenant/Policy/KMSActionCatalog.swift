/// The actions AWS KMS defines, so a wildcard can be judged by what it reaches beyond our calls.
///
/// `kms:ReEncrypt*` reaches only ReEncryptFrom and ReEncryptTo, which cmkctl needs; `kms:Re*` also
/// reaches ReplicateKey, RetireGrant and RevokeGrant. A list that lags behind AWS only makes the
/// analyzer miss a wildcard that reaches nothing but a new action, never invent one.
enum KMSActionCatalog {
    static let actions: [String] = [
        "CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore", "CreateGrant",
        "CreateKey", "Decrypt", "DeleteAlias", "DeleteCustomKeyStore", "DeleteImportedKeyMaterial",
        "DeriveSharedSecret", "DescribeCustomKeyStores", "DescribeKey", "DisableKey", "DisableKeyRotation",
        "DisconnectCustomKeyStore", "EnableKey", "EnableKeyRotation", "Encrypt", "GenerateDataKey",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext",
        "GenerateMac", "GenerateRandom", "GetKeyPolicy", "GetKeyRotationStatus", "GetParametersForImport",
        "GetPublicKey", "ImportKeyMaterial", "ListAliases", "ListGrants", "ListKeyPolicies", "ListKeyRotations",
        "ListKeys", "ListResourceTags", "ListRetirableGrants", "PutKeyPolicy", "ReEncryptFrom", "ReEncryptTo",
        "ReplicateKey", "RetireGrant", "RevokeGrant", "RotateKeyOnDemand", "ScheduleKeyDeletion", "Sign",
        "SynchronizeMultiRegionKey", "TagResource", "UntagResource", "UpdateAlias", "UpdateCustomKeyStore",
        "UpdateKeyDescription", "UpdatePrimaryRegion", "Verify", "VerifyMac",
    ].map { "kms:" + $0 }

    /// Whether `pattern` (an Action entry with `*` or `?`) grants more than the calls cmkctl makes.
    ///
    /// A pattern that can match outside the `kms:` service (`*`, `k*`) always does.
    static func reachesBeyondOurCalls(_ pattern: WildcardPattern) -> Bool {
        if pattern.matches("other-service:Action") || !pattern.text.lowercased().hasPrefix("kms:") { return true }
        let ours = Set(KMSCall.allCases.map { $0.action.lowercased() })
        return actions.contains { pattern.matches($0) && !ours.contains($0.lowercased()) }
    }
}
