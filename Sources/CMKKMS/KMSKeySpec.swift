/// A `--key` argument naming a KMS key: `aws-kms:ARN` for AWS (or a KMS-compatible endpoint), or
/// `local:ALIAS-OR-ARN` for the local file-backed KMS.
public enum KMSKeySpec: Sendable, Equatable, CustomStringConvertible {
    case aws(arn: String)
    case local(keyID: String)

    public var description: String {
        switch self {
        case .aws(let arn): Self.awsPrefix + arn
        case .local(let keyID): Self.localPrefix + keyID
        }
    }

    public static let awsPrefix = "aws-kms:"
    public static let localPrefix = "local:"

    /// Parses a spec; `nil` when the text has neither prefix (it may be another keyring's spec).
    /// An AWS spec must be a full key ARN, because the region comes from it and decrypt matches it
    /// against the ARN stored in messages.
    public init?(parsing text: String) throws {
        if text.hasPrefix(Self.awsPrefix) {
            let arn = String(text.dropFirst(Self.awsPrefix.count))
            guard let parsed = KeyARN(arn), !parsed.isAlias else {
                throw KMSError(.invalidRequest, "\(text): aws-kms: needs a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
            }
            self = .aws(arn: arn)
        } else if text.hasPrefix(Self.localPrefix) {
            let id = String(text.dropFirst(Self.localPrefix.count))
            guard !id.isEmpty else { throw KMSError(.invalidRequest, "\(text): local: needs an alias or a key ARN") }
            self = .local(keyID: id.hasPrefix("arn:") || id.hasPrefix("alias/") ? id : "alias/" + id)
        } else {
            return nil
        }
    }

    /// Parses `REGION=URL` (`--kms-endpoint`); only loopback or https URLs make sense, but any URL
    /// is accepted so VPC endpoints work.
    public static func parseEndpointOverride(_ text: String) throws -> (region: String, url: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw KMSError(.invalidRequest, "\(text): expected REGION=URL")
        }
        let region = String(text[..<eq])
        let url = String(text[text.index(after: eq)...])
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw KMSError(.invalidRequest, "\(text): the endpoint must be an http:// or https:// URL")
        }
        return (region, url)
    }
}
