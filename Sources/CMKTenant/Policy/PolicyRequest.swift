/// One call cmkctl makes, as IAM sees it: the action and the request context its conditions test.
///
/// Only the keys cmkctl can vouch for are known; every other key is `unknown`, and the analyzer
/// decides those conservatively (an Allow may not grant, a Deny may apply).
struct PolicyRequest: Sendable {
    enum Lookup: Sendable, Equatable {
        case present([String])
        case absent
        case unknown
    }

    let call: KMSCall
    let identity: ServiceIdentity
    /// The encryption context the call carries; `nil` for DescribeKey and GetKeyPolicy.
    var context: (key: String, value: String)?
    /// The VPC endpoint the call arrives through, `nil` when it does not use one.
    var sourceVpce: String?

    init(call: KMSCall, identity: ServiceIdentity, requirements: PolicyRequirements, sourceVpce: String?) {
        self.call = call
        self.identity = identity
        self.context = call.carriesContext ? (requirements.contextKey, requirements.contextValue) : nil
        self.sourceVpce = sourceVpce
    }

    /// The values of a condition key in this request; key names are case-insensitive.
    func value(of key: String) -> Lookup {
        let name = key.lowercased()
        let contextPrefix = "kms:encryptioncontext:"
        if name.hasPrefix(contextPrefix) {
            guard let context, context.key.lowercased() == name.dropFirst(contextPrefix.count) else { return .absent }
            return .present([context.value])
        }
        switch name {
        case "kms:encryptioncontextkeys":
            return context.map { .present([$0.key]) } ?? .absent
        case "aws:sourcevpce":
            return sourceVpce.map { .present([$0]) } ?? .absent
        case "aws:principalarn":
            return .present([identity.arn])
        case "aws:principalaccount", "kms:calleraccount":
            return identity.account.map { .present([$0]) } ?? .unknown
        case "aws:securetransport":
            return .present(["true"])
        case "aws:principalisawsservice":
            return .present(["false"])
        case "aws:principaltype":
            return .present(["AssumedRole"])
        case "kms:viaservice":
            // cmkctl calls KMS directly, never through another AWS service.
            return .absent
        default:
            return .unknown
        }
    }
}
