/// Findings as the analyzer discovers them, put into the report's deterministic order at the end.
struct FindingList {
    private struct Entry {
        let finding: PolicyFinding
        let statementIndex: Int
        let actionRank: Int
        let sequence: Int
    }

    private var entries: [Entry] = []

    mutating func add(_ code: PolicyFinding.Code, _ statement: PolicyStatement?, _ call: KMSCall?, _ message: String) {
        let rank = call.flatMap { KMSCall.allCases.firstIndex(of: $0) } ?? -1
        append(PolicyFinding(code: code, statement: statement?.label, action: call?.action, message: message),
               statementIndex: statement?.index ?? -1, actionRank: rank)
    }

    /// A finding about an action pattern as written (`action-wildcard`), after any required action.
    mutating func add(_ code: PolicyFinding.Code, _ statement: PolicyStatement, _ pattern: String, _ message: String) {
        append(PolicyFinding(code: code, statement: statement.label, action: pattern, message: message),
               statementIndex: statement.index, actionRank: KMSCall.allCases.count)
    }

    private mutating func append(_ finding: PolicyFinding, statementIndex: Int, actionRank: Int) {
        entries.append(Entry(finding: finding, statementIndex: statementIndex, actionRank: actionRank, sequence: entries.count))
    }

    /// Blocking first; then by statement (whole-policy findings first), code, action, discovery.
    func sorted() -> [PolicyFinding] {
        let codeRank = Dictionary(uniqueKeysWithValues: PolicyFinding.Code.allCases.enumerated().map { ($0.element, $0.offset) })
        func key(_ entry: Entry) -> [Int] {
            [entry.finding.severity == .blocking ? 0 : 1, entry.statementIndex, codeRank[entry.finding.code] ?? 0,
             entry.actionRank, entry.sequence]
        }
        return entries.sorted { key($0).lexicographicallyPrecedes(key($1)) }.map(\.finding)
    }
}
