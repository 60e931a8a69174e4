/// The one error type of CMKTenant: a stable code that callers branch on, and a message for people.
///
/// Decisions (CLI exit codes, workflow retries) read `code`, never `message`.
public struct TenantError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable and kebab-case, compared by value; shown in messages and `--json` output and never changed
    /// once shipped. New codes are added as new constants, so callers' `switch`es keep a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible, Codable {
        public let name: String

        init(_ name: String) {
            self.name = name
        }

        public var description: String { name }

        public init(from decoder: any Decoder) throws {
            name = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }

        /// Input refused before anything was journaled: malformed ARN, bad tag, duplicate region.
        public static let invalidInput = Code("invalid-input")
        /// The tenant is already enrolling or enrolled under another ticket, or a tag is taken.
        public static let conflict = Code("conflict")
        /// The tenant's lifecycle does not allow this move from its current state (`TenantLifecycle`).
        public static let illegalTransition = Code("illegal-transition")
        /// A key policy document is not JSON of the IAM policy shape.
        public static let malformedPolicy = Code("malformed-policy")
        /// The tenant store could not be opened, migrated, read or written.
        public static let storeFailure = Code("store-failure")
        /// The audit chain does not verify: an entry was edited, inserted or deleted.
        public static let auditChainBroken = Code("audit-chain-broken")
        /// The operator configuration file is missing a value or has a wrong one.
        public static let configuration = Code("configuration")
        /// Encrypt or decrypt for a tenant the store does not know, or one without an encryption-context
        /// identifier yet (`TenantCrypto`); also any other command's unknown tenant.
        public static let tenantUnknown = Code("tenant-unknown")
        /// The same code under its earlier Swift name.
        public static let unknownTenant = tenantUnknown
        /// Encrypt or decrypt for a suspended or offboarded tenant: its lifecycle refuses (`TenantCrypto`).
        public static let tenantSuspended = Code("tenant-suspended")
        /// A tenant message could not be decrypted: malformed, tampered, another tenant's, or under a
        /// key the tenant does not have. One opaque error for every cause, so a caller cannot probe
        /// whose a message is; the reason goes to the debug log.
        public static let decryptFailed = Code("decrypt-failed")
        /// A KMS event came without a valid API key or signature (the intake answers 401).
        public static let unauthorized = Code("unauthorized")
        /// A data source could not be opened, read or written (a database refused, a file is
        /// unreadable, a table is not as configured).
        public static let dataSourceFailure = Code("data-source-failure")
        /// A backup the tenant's lifecycle refuses now: it is re-encrypting, suspended or offboarded.
        public static let backupRefused = Code("backup-refused")
        /// A restore refused before anything was written: another tenant's backup, a disabled or skipped
        /// one, an older generation's, a tenant that is not active, or keys that fail their probe.
        public static let restoreRefused = Code("restore-refused")
        /// No backup with that id in the catalogue.
        public static let backupUnknown = Code("backup-unknown")
        /// A backup file that is missing, does not match its catalogue digest, or does not decrypt.
        public static let backupDamaged = Code("backup-damaged")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
