/// The results of probing several keys, with the overall verdict and its printed forms.
public struct ProbeReport: Sendable {
    public let results: [ProbeResult]

    public init(results: [ProbeResult]) {
        self.results = results
    }

    public var verdict: ProbeVerdict { results.map(\.verdict).max() ?? .ok }

    public var json: JSONValue {
        [
            "verdict": .string(verdict.rawValue),
            "class": verdict.failureClass.map { .string($0.rawValue) } ?? .null,
            "exitCode": .number(Double(verdict.exitCode)),
            "keys": .array(results.map(\.json)),
        ]
    }

    /// Who has to act on a verdict, in words, so an operator never reads their own setup problem as
    /// the customer's key.
    static func whoActs(_ verdict: ProbeVerdict) -> String? {
        if verdict == .unsuitableKey { return "the key's owner must give a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key" }
        return switch verdict.failureClass {
        case nil: nil
        case .revocation?: "revocation: the key's owner refused or removed it"
        case .transient?: "transient: try again later"
        case .misconfiguration?: "misconfiguration: cmkctl's own setup (credentials, local KMS file, endpoint), not the key's owner"
        }
    }

    /// A fixed-width table, one row per call, for people.
    public func table() -> String {
        var rows: [[String]] = [["KEY", "REGION", "CHECK", "RESULT", "LATENCY", "DETAIL"]]
        for result in results {
            for step in result.steps {
                let latency: String = step.latency.map { String(format3: $0.reportMilliseconds) + " ms" } ?? "-"
                let cells: [String] = [result.keyID, result.region, step.name, step.failure?.rawValue ?? "ok", latency, step.detail]
                // Key ids and KMS messages come from outside: escaped, so they cannot break the table.
                rows.append(cells.map(\.escapingControlCharacters))
            }
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in rows {
            for column in 0..<5 {
                out += row[column] + String(repeating: " ", count: widths[column] - row[column].count + 2)
            }
            out += row[5] + "\n"
        }
        out += "verdict: \(verdict.rawValue)\(Self.whoActs(verdict).map { " (\($0))" } ?? "")\n"
        return out
    }
}
