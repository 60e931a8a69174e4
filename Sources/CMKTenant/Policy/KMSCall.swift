/// The KMS actions cmkctl calls on a tenant's key, in the order findings list them.
enum KMSCall: String, Sendable, CaseIterable {
    case encrypt = "kms:Encrypt"
    case decrypt = "kms:Decrypt"
    case generateDataKey = "kms:GenerateDataKey"
    case reEncryptFrom = "kms:ReEncryptFrom"
    case reEncryptTo = "kms:ReEncryptTo"
    case describeKey = "kms:DescribeKey"
    case getKeyPolicy = "kms:GetKeyPolicy"

    var action: String { rawValue }

    /// Whether the call carries the tenant's encryption context; DescribeKey and GetKeyPolicy
    /// take none, so a condition on `kms:EncryptionContext:...` can never hold for them.
    var carriesContext: Bool {
        switch self {
        case .encrypt, .decrypt, .generateDataKey, .reEncryptFrom, .reEncryptTo: true
        case .describeKey, .getKeyPolicy: false
        }
    }

    static var cryptographic: [KMSCall] { allCases.filter(\.carriesContext) }
    static var metadata: [KMSCall] { allCases.filter { !$0.carriesContext } }
}
