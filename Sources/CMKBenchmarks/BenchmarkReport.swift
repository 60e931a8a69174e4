/// The figures `cmkctl bench workflow` prints; field names are part of its `--json` output.
public struct BenchmarkReport: Sendable, Codable, Equatable {
    /// `sqlite` or `postgres`.
    public let store: String
    /// SQLite's `synchronous` setting, or PostgreSQL's `synchronous_commit` and `fsync`.
    public let durability: String
    public let transitions: Int
    public let transitionSeconds: Double
    public let transitionsPerSecond: Double
    public let rawCommits: Int
    public let rawSeconds: Double
    public let rawCommitsPerSecond: Double
    /// transitionsPerSecond / rawCommitsPerSecond; the target is at least 0.5.
    public let ratio: Double
}
