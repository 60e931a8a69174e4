/// A KMS key or alias ARN, `arn:aws:kms:us-east-1:111122223333:key/1234abcd-...`, split into the
/// parts the client needs: the region picks the endpoint, the whole ARN is the key id sent to KMS.
public struct KeyARN: Sendable, Hashable, CustomStringConvertible {
    public let partition: String
    public let region: String
    public let account: String
    /// `key/<id>` or `alias/<name>`.
    public let resource: String

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kms", !parts[1].isEmpty, !parts[3].isEmpty,
              parts[5].hasPrefix("key/") || parts[5].hasPrefix("alias/"), parts[5].count > 4 else { return nil }
        partition = parts[1]
        region = parts[3]
        account = parts[4]
        resource = parts[5]
    }

    public init(region: String, account: String, keyID: String, partition: String = "aws") {
        self.partition = partition
        self.region = region
        self.account = account
        self.resource = "key/" + keyID
    }

    public var isAlias: Bool { resource.hasPrefix("alias/") }

    /// The key id (UUID) or alias name without its prefix.
    public var resourceID: String {
        String(resource.drop(while: { $0 != "/" }).dropFirst())
    }

    public var description: String { "arn:\(partition):kms:\(region):\(account):\(resource)" }
}
