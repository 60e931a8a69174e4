import CMKKMS

/// The key policy statements a customer adds so cmkctl can use their key for one tenant.
///
/// Two statements, because DescribeKey and GetKeyPolicy carry no encryption context: an Allow
/// conditioned on `kms:EncryptionContext:...` would never grant them.
public enum PolicyTemplate {
    /// Sids of the template's statements, so support can find them in a customer's policy.
    public static let cryptographySid = "AllowTenantCryptoWithContext"
    public static let metadataSid = "AllowKeyMetadata"

    /// The statement(s) the customer should add, pretty JSON, identifier (and SourceVpce when configured) filled in.
    ///
    /// A JSON list, to be pasted into the policy's `Statement` list.
    public static func statements(for requirements: PolicyRequirements) -> String {
        JSONValue.array(statementValues(for: requirements)).prettyText
    }

    /// A whole policy holding only the template's statements: what a fresh key for this tenant
    /// would need beyond the customer's own administration statement.
    public static func document(for requirements: PolicyRequirements) -> String {
        let document: JSONValue = [
            "Version": "2012-10-17",
            "Statement": .array(statementValues(for: requirements)),
        ]
        return document.prettyText
    }

    static func statementValues(for requirements: PolicyRequirements) -> [JSONValue] {
        let principal: JSONValue = ["AWS": .string(requirements.servicePrincipal)]
        var vpce: JSONObject = [:]
        switch requirements.vpcEndpointIDs.count {
        case 0: break
        case 1: vpce["aws:SourceVpce"] = .string(requirements.vpcEndpointIDs[0])
        default: vpce["aws:SourceVpce"] = .array(requirements.vpcEndpointIDs.map(JSONValue.string))
        }

        var contextCondition: JSONObject = ["kms:EncryptionContext:\(requirements.contextKey)": .string(requirements.contextValue)]
        for (key, value) in vpce { contextCondition[key] = value }
        let cryptography: JSONValue = [
            "Sid": .string(cryptographySid),
            "Effect": "Allow",
            "Principal": principal,
            "Action": .array(KMSCall.cryptographic.map { .string($0.action) }),
            "Resource": "*",
            "Condition": ["StringEquals": .object(contextCondition)],
        ]
        var metadataMembers: JSONObject = [
            "Sid": .string(metadataSid),
            "Effect": "Allow",
            "Principal": principal,
            "Action": .array(KMSCall.metadata.map { .string($0.action) }),
            "Resource": "*",
        ]
        if !vpce.isEmpty { metadataMembers["Condition"] = ["StringEquals": .object(vpce)] }
        return [cryptography, .object(metadataMembers)]
    }
}
