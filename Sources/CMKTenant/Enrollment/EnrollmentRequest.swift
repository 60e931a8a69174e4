import CMKKMS

/// What support staff ask for: a ticket, a tenant, one key per region and a tag, validated before
/// anything is journaled.
public struct EnrollmentRequest: Sendable, Equatable {
    public let ticket: String
    public let tenant: String
    public let keys: [KeyGeneration.RegionalKey]
    public let tag: ContextTag
    public let operatorName: String

    /// Checks every field and names the first problem: ids, ARNs (key ARNs, not aliases, which a
    /// customer could re-point), one key per region, the tag rules, the operator's tenant list.
    public init(ticket: String, tenant: String, keys: [String], tag: String, operatorName: String,
                configuration: OperatorConfiguration) throws {
        try Self.checkIdentifier(ticket, what: "ticket", maxLength: 64)
        try Self.checkTenantID(tenant)
        try Self.checkOperatorName(operatorName)
        if let allowed = configuration.tenants, !allowed.contains(tenant) {
            throw TenantError(.unknownTenant, "tenant \"\(tenant)\" is not in the operator's tenant list")
        }
        guard !keys.isEmpty else { throw TenantError(.invalidInput, "give at least one --key (a KMS key ARN)") }
        var regional: [KeyGeneration.RegionalKey] = []
        for text in keys {
            let arn: KeyARN
            do { arn = try KeyARN(validating: text) } catch let error as KMSError {
                throw TenantError(.invalidInput, "--key \(error.message)")
            }
            if let other = regional.first(where: { $0.region == arn.region }) {
                throw TenantError(.invalidInput, "two keys in region \(arn.region) (\(other.keyARN) and \(arn)): give one key per region")
            }
            regional.append(.init(region: arn.region, keyARN: arn.description))
        }
        self.ticket = ticket
        self.tenant = tenant
        self.keys = regional
        self.tag = try ContextTag(tag)
        self.operatorName = operatorName
    }

    /// The operator name goes into every audit entry and timeline line, so it is bounded and must not
    /// carry control characters (a newline or an escape sequence could forge a line of `cmkctl history`).
    public static func checkOperatorName(_ name: String) throws {
        guard name.utf8.count <= Self.maxOperatorNameBytes else {
            throw TenantError(.invalidInput, "the operator name is \(name.utf8.count) bytes; the limit is \(Self.maxOperatorNameBytes) bytes")
        }
        guard !name.containsControlCharacters else {
            throw TenantError(.invalidInput, "--operator \"\(name.escapingControlCharacters)\" holds control characters (newline, escape, tab, ...); give a plain name")
        }
    }

    /// The longest `--operator` name: it is copied into the enrollment's input and every audit entry.
    public static let maxOperatorNameBytes = 256

    /// Refuses a tenant id outside the grammar (1 to 64 ASCII letters, digits, '-', '_', '.', starting
    /// with a letter or digit), so `.`, `..`, `a/b` or control characters never name a tenant.
    public static func checkTenantID(_ text: String) throws {
        try checkIdentifier(text, what: "tenant id", maxLength: 64)
    }

    public static func checkIdentifier(_ text: String, what: String, maxLength: Int) throws {
        guard !text.isEmpty, text.utf8.count <= maxLength else {
            throw TenantError(.invalidInput, "the \(what) must be 1 to \(maxLength) characters")
        }
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        let allowed = text.utf8.allSatisfy { byte in
            isLetterOrDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        // The text is not echoed: it may hold control characters.
        guard allowed else {
            throw TenantError(.invalidInput, "the \(what) may hold only ASCII letters, digits, '-', '_' and '.'")
        }
        // Also refuses "." and "..", which read as paths wherever an id becomes part of one.
        guard let first = text.utf8.first, isLetterOrDigit(first) else {
            throw TenantError(.invalidInput, "the \(what) \"\(text)\" must start with an ASCII letter or digit")
        }
    }
}
