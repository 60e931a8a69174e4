/// A KMS alias name, `alias/NAME`, held to AWS KMS's grammar so the local KMS accepts exactly the
/// aliases the cloud would.
public enum AliasName {
    /// AWS KMS's limit, `alias/` included.
    public static let maxBytes = 256

    /// The full alias name (`alias/` added when missing), or `KMSError(.invalidRequest)` naming the rule.
    ///
    /// NAME holds ASCII letters, digits, `/`, `_` and `-` (so no `.` and no `..` segment), has no empty
    /// segment, and does not start with `aws/`, which AWS reserves for its own keys.
    public static func normalized(_ text: String) throws -> String {
        let name = text.hasPrefix("alias/") ? String(text.dropFirst(6)) : text
        let full = "alias/" + name
        guard !name.isEmpty, full.utf8.count <= maxBytes else {
            throw KMSError(.invalidRequest, "an alias name is alias/ and 1 to \(maxBytes - 6) characters")
        }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard allowed else {
            throw KMSError(.invalidRequest, "an alias name may hold only ASCII letters, digits, '/', '_' and '-' after alias/")
        }
        guard !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            throw KMSError(.invalidRequest, "the alias name \(full) has an empty segment (a leading, trailing or doubled '/')")
        }
        guard !name.hasPrefix("aws/") else {
            throw KMSError(.invalidRequest, "the alias name \(full) starts with alias/aws/, which AWS reserves for its own keys")
        }
        return full
    }
}
