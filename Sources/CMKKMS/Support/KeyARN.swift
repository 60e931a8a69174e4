/// A KMS key ARN, `arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
/// checked against one strict grammar and split into the parts the client needs.
///
/// The region names the endpoint host (`kms.<region>.amazonaws.com`) and the whole ARN goes to KMS
/// as the key id, so an ARN is parsed once, with `init(validating:allowAlias:)`, wherever one comes
/// in (command line, operator configuration, store reads, enrollment requests): a region such as
/// `x@host#` would otherwise send signed requests to another host. The grammar:
///
/// - partition `aws`, `aws-cn` (regions `cn-…`) or `aws-us-gov` (regions `us-gov-…`);
/// - region `[a-z]{2}(-[a-z]+)+-[0-9]`, or `local` (the local KMS, partition `aws`);
/// - account: 12 digits;
/// - `key/` and a key id: a lowercase UUID (8-4-4-4-12 hex) or `mrk-` and 32 lowercase hex digits;
/// - or, only with `allowAlias` (the operator's own keys), `alias/` and 1 to 256 letters, digits, `/`, `_`, `-`;
/// - at most 2,048 bytes in all.
public struct KeyARN: Sendable, Hashable, CustomStringConvertible {
    public let partition: String
    public let region: String
    public let account: String
    /// `key/<id>` or `alias/<name>`.
    public let resource: String

    public static let partitions = ["aws", "aws-cn", "aws-us-gov"]
    public static let maximumLength = 2048
    public static let maximumAliasNameLength = 256
    /// The form named in error messages.
    public static let expectedForm = "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"

    /// Parses `text`, refusing anything outside the grammar with an `invalidKeyARN` error that names
    /// the part at fault. Alias ARNs pass only with `allowAlias`: a customer can re-point an alias to
    /// another key, so a tenant's key is always named by its key ARN.
    public init(validating text: String, allowAlias: Bool = false) throws {
        func refuse(_ problem: String) -> KMSError {
            KMSError(.invalidKeyARN, "\(Self.quoted(text)) is not a KMS key ARN: \(problem)")
        }
        guard text.utf8.count <= Self.maximumLength else {
            throw refuse("it is longer than \(Self.maximumLength) bytes")
        }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn" else { throw refuse("expected \(Self.expectedForm)") }
        guard parts[2] == "kms" else { throw refuse("the service must be kms, expected \(Self.expectedForm)") }
        let partition = parts[1], region = parts[3], account = parts[4], resource = parts[5]
        guard Self.partitions.contains(partition) else {
            throw refuse("the partition must be \(Self.partitions.joined(separator: ", ")) (got \(Self.quoted(partition)))")
        }
        guard Self.isValidRegion(region) else {
            throw refuse("the region \(Self.quoted(region)) is not a region name (like us-east-1, or local)")
        }
        guard Self.partition(ofRegion: region) == partition else {
            throw refuse("region \(region) is not in partition \(partition) (it is in \(Self.partition(ofRegion: region)))")
        }
        guard account.utf8.count == 12, account.utf8.allSatisfy(Self.isDigit) else {
            throw refuse("the account must be 12 digits (got \(Self.quoted(account)))")
        }
        if resource.hasPrefix("key/") {
            let id = resource.dropFirst(4)
            guard Self.isUUID(id) || Self.isMultiRegionKeyID(id) else {
                throw refuse("the key id must be a lowercase UUID (1234abcd-12ab-34cd-56ef-1234567890ab) or mrk- and 32 lowercase hex digits (got \(Self.quoted(String(id))))")
            }
        } else if resource.hasPrefix("alias/") {
            guard allowAlias else {
                throw KMSError(.invalidKeyARN, "\(Self.quoted(text)) is an alias ARN; give the key ARN, since an alias can be re-pointed to another key")
            }
            let name = resource.dropFirst(6)
            guard Self.isValidAliasName(name) else {
                throw refuse("the alias name must be 1 to \(Self.maximumAliasNameLength) letters, digits, '/', '_' or '-' (got \(Self.quoted(String(name))))")
            }
        } else {
            throw refuse("the resource must be key/KEY-ID\(allowAlias ? " or alias/NAME" : "") (got \(Self.quoted(resource)))")
        }
        self.partition = partition
        self.region = region
        self.account = account
        self.resource = resource
    }

    /// The ARN of key `keyID` in `region` and `account`, checked like a parsed one.
    public init(region: String, account: String, keyID: String, partition: String = "aws") throws {
        try self.init(validating: "arn:\(partition):kms:\(region):\(account):key/\(keyID)")
    }

    /// Whether `text` looks like an ARN at all, so that a malformed one is refused rather than taken
    /// for a bare key id or alias name.
    public static func looksLikeARN(_ text: String) -> Bool {
        text.hasPrefix("arn:")
    }

    public var isAlias: Bool { resource.hasPrefix("alias/") }

    /// The key id (UUID or `mrk-…`) or alias name without its prefix.
    public var resourceID: String {
        String(resource.drop(while: { $0 != "/" }).dropFirst())
    }

    public var description: String { "arn:\(partition):kms:\(region):\(account):\(resource)" }

    /// Whether `name` (without `alias/`) is 1 to 256 letters, digits, `/`, `_` or `-`.
    public static func isValidAliasName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumAliasNameLength && name.utf8.allSatisfy(isAliasNameByte)
    }

    // MARK: regions

    /// Whether `region` is a region name under the grammar: `[a-z]{2}(-[a-z]+)+-[0-9]` or `local`.
    public static func isValidRegion(_ region: String) -> Bool {
        if region == "local" { return true }
        let groups = region.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard groups.count >= 3, let first = groups.first, let last = groups.last else { return false }
        guard first.count == 2, first.allSatisfy(isLowercaseLetter) else { return false }
        guard last.count == 1, last.allSatisfy(isDigit) else { return false }
        return groups.dropFirst().dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy(isLowercaseLetter) }
    }

    /// Returns `region` when it is a region name under the grammar, or throws `invalidKeyARN` naming
    /// `what` (a default region, an endpoint override), so no other text ever becomes a host name.
    @discardableResult
    public static func validatedRegion(_ region: String, what: String = "region") throws -> String {
        guard isValidRegion(region) else {
            throw KMSError(.invalidKeyARN, "the \(what) \(quoted(region)) is not a region name (like us-east-1, or local)")
        }
        return region
    }

    /// The partition a valid region belongs to.
    static func partition(ofRegion region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }

    /// The public KMS endpoint of a valid region; China's regions live under `amazonaws.com.cn`.
    static func publicEndpoint(ofRegion region: String) -> String {
        partition(ofRegion: region) == "aws-cn" ? "https://kms.\(region).amazonaws.com.cn" : "https://kms.\(region).amazonaws.com"
    }

    // MARK: character classes

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isLowercaseHex(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) }

    private static func isAliasNameByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || isLowercaseLetter(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// `1234abcd-12ab-34cd-56ef-1234567890ab`: groups of 8, 4, 4, 4 and 12 lowercase hex digits.
    private static func isUUID(_ id: Substring) -> Bool {
        let groups = id.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(isLowercaseHex) }
    }

    /// `mrk-` and 32 lowercase hex digits: a multi-Region key.
    private static func isMultiRegionKeyID(_ id: Substring) -> Bool {
        id.hasPrefix("mrk-") && id.utf8.count == 36 && id.utf8.dropFirst(4).allSatisfy(isLowercaseHex)
    }

    /// Text from outside, for an error message: quoted, control characters escaped, long text cut.
    static func quoted(_ text: String) -> String {
        let limit = 96
        let shown = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\"" + shown.escapingControlCharacters + "\""
    }
}
