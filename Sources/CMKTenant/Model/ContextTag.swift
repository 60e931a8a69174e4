/// The human-readable tag a tenant chooses at enrollment (Atlassian's rule: 1 to 12 ASCII letters and
/// digits), from which its encryption-context identifier is made.
public struct ContextTag: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public static let maximumLength = 12

    /// Refuses anything but 1...12 ASCII letters and digits, naming what is wrong.
    public init(_ text: String) throws {
        guard !text.isEmpty else { throw TenantError(.invalidInput, "the tag is empty: use 1 to 12 ASCII letters and digits") }
        guard text.utf8.count <= Self.maximumLength else {
            throw TenantError(.invalidInput, "the tag \"\(text)\" is \(text.utf8.count) characters long: at most \(Self.maximumLength) ASCII letters and digits")
        }
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
            throw TenantError(.invalidInput, "the tag \"\(text)\" may hold only ASCII letters and digits (no spaces, dashes or accents)")
        }
        value = text
    }

    public var description: String { value }
}

/// The tenant's encryption-context value, `<tag>-<6 random base-36 characters>`, e.g. `acmeprod-7f3k2q`.
///
/// Generated once, stored under a UNIQUE index and never changed: it is the AAD of every tenant
/// ciphertext and shows in the tenant's CloudTrail, so changing it would orphan their data and their
/// key-policy conditions. The random suffix keeps identifiers distinct when two tenants pick the same tag.
public enum ContextIdentifier {
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    public static let suffixLength = 6

    /// Makes a candidate from the tag; the caller retries with a new one if the store says it is taken.
    public static func generate(tag: ContextTag, using generator: inout some RandomNumberGenerator) -> String {
        var suffix: [UInt8] = []
        for _ in 0..<suffixLength {
            suffix.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        return tag.value.lowercased() + "-" + String(decoding: suffix, as: UTF8.self)
    }
}
