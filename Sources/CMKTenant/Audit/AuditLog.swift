import Crypto
import Foundation
import GRDB

/// The hash-chained audit trail in the store.
///
/// Each entry's hash is SHA-256 over its own fields and the previous entry's hash, so editing,
/// inserting or deleting an entry anywhere breaks every later link; `audit_head` holds the newest
/// hash so cutting entries off the end shows too. Appends happen inside the caller's write
/// transaction, which SQLite serializes, so the chain never forks.
public enum AuditLog {
    /// The previous hash of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// Appends an entry; call inside a write transaction.
    @discardableResult
    public static func append(
        _ db: Database, tenant: String?, kind: AuditEntry.Kind, action: String, detail: [String: String], cause: Cause,
        at date: Date
    ) throws -> AuditEntry {
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1")
        let seq = (head?["seq"] as Int? ?? 0) + 1
        let prevHash = head?["hash"] as String? ?? genesis
        let at = timestamp(date)
        let detailText = try canonicalJSON(detail)
        let causeText = try canonicalJSON(cause)
        let hash = digest(seq: seq, at: at, tenant: tenant, kind: kind.rawValue, action: action, detail: detailText,
                          cause: causeText, prevHash: prevHash)
        try db.execute(
            sql: """
                INSERT INTO audit_log (seq, at, tenant, kind, action, detail, cause, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [seq, at, tenant, kind.rawValue, action, detailText, causeText, prevHash, hash])
        try db.execute(
            sql: "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            arguments: [seq, hash])
        return AuditEntry(seq: seq, at: at, tenant: tenant, kind: kind, action: action, detail: detail, cause: cause,
                          prevHash: prevHash, hash: hash)
    }

    /// Walks the whole chain from the first entry: contiguous numbers, each link, each hash, the head.
    public static func verify(_ db: Database) throws -> AuditVerification {
        var expectedPrev = genesis
        var expectedSeq = 1
        var count = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY seq")
        while let row = try cursor.next() {
            let seq: Int = row["seq"]
            func broken(_ problem: String) -> AuditVerification {
                AuditVerification(entries: count, headHash: nil, brokenAt: seq, problem: problem)
            }
            guard seq == expectedSeq else {
                return AuditVerification(entries: count, headHash: nil, brokenAt: expectedSeq,
                                         problem: "entry \(expectedSeq) is missing (next is \(seq))")
            }
            let prevHash: String = row["prev_hash"]
            guard prevHash == expectedPrev else {
                return broken("entry \(seq) does not link to entry \(seq - 1) (an entry was removed, inserted or edited)")
            }
            let recomputed = digest(seq: seq, at: row["at"], tenant: row["tenant"], kind: row["kind"], action: row["action"],
                                    detail: row["detail"], cause: row["cause"], prevHash: prevHash)
            let stored: String = row["hash"]
            guard recomputed == stored else {
                return broken("entry \(seq) was altered: its content does not match its hash")
            }
            expectedPrev = stored
            expectedSeq += 1
            count += 1
        }
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1")
        let headSeq = head?["seq"] as Int? ?? 0
        let headHash = head?["hash"] as String? ?? genesis
        guard headSeq == count, headHash == expectedPrev else {
            return AuditVerification(entries: count, headHash: nil, brokenAt: count + 1,
                                     problem: "the log ends at entry \(count) but its head records entry \(headSeq): entries were cut off the end")
        }
        return AuditVerification(entries: count, headHash: count == 0 ? nil : expectedPrev, brokenAt: nil, problem: nil)
    }

    /// Entries in order, all or one tenant's.
    public static func entries(_ db: Database, tenant: String?) throws -> [AuditEntry] {
        let rows: [Row]
        if let tenant {
            rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE tenant = ? ORDER BY seq", arguments: [tenant])
        } else {
            rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY seq")
        }
        let decoder = JSONDecoder()
        return try rows.map { row in
            guard let kind = AuditEntry.Kind(rawValue: row["kind"]) else {
                throw TenantError(.storeFailure, "audit entry \(row["seq"] as Int) has unknown kind \(row["kind"] as String)")
            }
            let detail = try decoder.decode([String: String].self, from: Data((row["detail"] as String).utf8))
            let cause = try decoder.decode(Cause.self, from: Data((row["cause"] as String).utf8))
            return AuditEntry(seq: row["seq"], at: row["at"], tenant: row["tenant"], kind: kind, action: row["action"],
                              detail: detail, cause: cause, prevHash: row["prev_hash"], hash: row["hash"])
        }
    }

    static func canonicalJSON(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Each field length-prefixed, so no two different entries hash the same bytes.
    static func digest(seq: Int, at: String, tenant: String?, kind: String, action: String, detail: String, cause: String,
                       prevHash: String) -> String {
        var hasher = SHA256()
        for field in [String(seq), at, tenant, kind, action, detail, cause, prevHash] {
            if let field {
                hasher.update(data: Array("s\(field.utf8.count):".utf8))
                hasher.update(data: Array(field.utf8))
            } else {
                hasher.update(data: Array("n".utf8))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
