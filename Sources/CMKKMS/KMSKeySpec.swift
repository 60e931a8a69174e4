import Foundation

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
    /// An AWS spec must be a full key ARN under `KeyARN`'s grammar, because the region (and so the
    /// host) comes from it and decrypt matches it against the ARN stored in messages. A local spec
    /// is an alias name (`tenant-a`, `alias/tenant-a`), looked up in the local file, or a key ARN.
    public init?(parsing text: String) throws {
        if text.hasPrefix(Self.awsPrefix) {
            let arn = String(text.dropFirst(Self.awsPrefix.count))
            self = .aws(arn: try KeyARN(validating: arn).description)
        } else if text.hasPrefix(Self.localPrefix) {
            let id = String(text.dropFirst(Self.localPrefix.count))
            if KeyARN.looksLikeARN(id) {
                self = .local(keyID: try KeyARN(validating: id).description)
                return
            }
            let alias = id.hasPrefix("alias/") ? id : "alias/" + id
            guard KeyARN.isValidAliasName(alias.dropFirst(6)) else {
                throw KMSError(.invalidKeyARN, "\(KeyARN.quoted(text)): local: needs a key ARN (\(KeyARN.expectedForm)) or an alias name of 1 to \(KeyARN.maximumAliasNameLength) letters, digits, '/', '_' or '-'")
            }
            self = .local(keyID: alias)
        } else {
            return nil
        }
    }

    /// Parses `REGION=URL` (`--kms-endpoint`); only loopback or https URLs make sense, but any URL
    /// is accepted so VPC endpoints work.
    public static func parseEndpointOverride(_ text: String) throws -> (region: String, url: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw KMSError(.invalidRequest, "\(KeyARN.quoted(text)): expected REGION=URL")
        }
        let region = String(text[..<eq])
        let url = String(text[text.index(after: eq)...])
        try KeyARN.validatedRegion(region, what: "endpoint region")
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), !url.containsControlCharacters,
              let host = URLComponents(string: url)?.host, !host.isEmpty
        else {
            throw KMSError(.invalidRequest, "\(KeyARN.quoted(text)): the endpoint must be an http:// or https:// URL with a host")
        }
        return (region, url)
    }
}
