/// The findings of one key policy analysis, blocking ones first.
public struct PolicyReport: Sendable, Equatable, Codable {
    /// Blocking before warnings; within a severity by statement (whole-policy findings first),
    /// then code, then action in the order cmkctl calls them.
    public let findings: [PolicyFinding]

    public init(findings: [PolicyFinding]) {
        self.findings = findings
    }

    /// Whether some finding makes our calls fail; the enrollment waits for the customer while so.
    public var isBlocking: Bool { findings.contains { $0.severity == .blocking } }

    public var blockingFindings: [PolicyFinding] { findings.filter { $0.severity == .blocking } }

    public var warnings: [PolicyFinding] { findings.filter { $0.severity == .warning } }
}
