/// How hard a commit is pushed to disk; see docs/workflows.md for why each is safe.
public enum JournalDurability: String, Sendable, CaseIterable {
    /// `synchronous=FULL`: the WAL is fsynced at every commit; a committed step survives power loss.
    case full
    /// `synchronous=NORMAL`: the WAL is fsynced at checkpoints; a committed step survives a killed process,
    /// but the last commits may be lost on power loss (never corrupted).
    case normal

    /// The value of SQLite's `PRAGMA synchronous` for this setting.
    var synchronousPragma: String {
        switch self {
        case .full: "FULL"
        case .normal: "NORMAL"
        }
    }
}
