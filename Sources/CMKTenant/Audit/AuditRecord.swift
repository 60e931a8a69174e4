/// An audit entry exactly as stored: the text that is hashed, before any decoding.
///
/// `AuditLog.verify` recomputes hashes over these fields, so a stored entry edited to different but
/// equivalent JSON still shows as altered.
public struct AuditRecord: Sendable, Equatable {
    public var seq: Int
    /// RFC 3339 with milliseconds, UTC.
    public var at: String
    public var tenant: String?
    public var kind: String
    public var action: String
    /// Canonical JSON of the detail map.
    public var detail: String
    /// Canonical JSON of the `Cause`.
    public var cause: String
    public var prevHash: String
    public var hash: String

    public init(seq: Int, at: String, tenant: String?, kind: String, action: String, detail: String, cause: String,
                prevHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.tenant = tenant
        self.kind = kind
        self.action = action
        self.detail = detail
        self.cause = cause
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// The newest audit entry's number and hash, kept apart from the entries so that cutting entries off the
/// end of the trail is detected.
public struct AuditHead: Sendable, Equatable {
    public var seq: Int
    public var hash: String

    public init(seq: Int, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}
