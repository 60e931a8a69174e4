/// The size limit of a key policy document, applied wherever cmkctl reads or stores one.
///
/// AWS KMS refuses key policies over 32 KB; holding every reader to the same limit means a
/// 54 MB "policy" is refused at once instead of costing seconds and hundreds of MB to parse.
public enum KeyPolicyLimit {
    /// 32 KB, as AWS KMS counts it: 32,768 bytes of UTF-8.
    public static let maxBytes = 32_768

    /// Why a document of `byteCount` bytes is refused, or nil when it fits.
    public static func excess(byteCount: Int) -> String? {
        guard byteCount > maxBytes else { return nil }
        return "the policy is \(byteCount) bytes; key policies are limited to \(maxBytes) bytes (32 KB)"
    }

    /// The same, for a document known only to be larger than the limit (reading stopped there).
    public static var overLimit: String {
        "the policy is larger than \(maxBytes) bytes; key policies are limited to \(maxBytes) bytes (32 KB)"
    }
}
