import Crypto
import Foundation

/// The hash-chained audit trail in the store.
///
/// Each entry's hash is SHA-256 over its own fields and the previous entry's hash, so editing,
/// inserting or deleting an entry anywhere breaks every later link; the head (`AuditHead`) holds the
/// newest hash so cutting entries off the end shows too. Appends happen inside the caller's write
/// transaction, which the backend serializes, so the chain never forks. The chain is computed here; the
/// backends only store it.
public enum AuditLog {
    /// The previous hash of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// Appends an entry in `transaction`, which must be a write transaction.
    @discardableResult
    public static func append<Repository: TenantRepository>(
        _ repository: Repository, in transaction: Repository.Transaction, tenant: String?, kind: AuditEntry.Kind,
        action: String, detail: [String: String], cause: Cause, at date: Date
    ) async throws -> AuditEntry {
        let head = try await repository.auditHead(in: transaction)
        let seq = (head?.seq ?? 0) + 1
        let prevHash = head?.hash ?? genesis
        let at = timestamp(date)
        let detailText = try canonicalJSON(detail)
        let causeText = try canonicalJSON(cause)
        let hash = digest(seq: seq, at: at, tenant: tenant, kind: kind.rawValue, action: action, detail: detailText,
                          cause: causeText, prevHash: prevHash)
        try await repository.appendAuditRecord(
            AuditRecord(seq: seq, at: at, tenant: tenant, kind: kind.rawValue, action: action, detail: detailText,
                        cause: causeText, prevHash: prevHash, hash: hash),
            in: transaction)
        return AuditEntry(seq: seq, at: at, tenant: tenant, kind: kind, action: action, detail: detail, cause: cause,
                          prevHash: prevHash, hash: hash)
    }

    /// Walks the whole chain from the first entry: contiguous numbers, each link, each hash, the head.
    public static func verify(records: [AuditRecord], head: AuditHead?) -> AuditVerification {
        var walker = ChainWalker()
        for record in records {
            if let broken = walker.check(record) { return broken }
        }
        return walker.finish(head: head)
    }

    /// The chain check one entry at a time, so a long log is verified page by page in bounded memory.
    public struct ChainWalker: Sendable {
        private var expectedPrev = AuditLog.genesis
        private var expectedSeq = 1
        private var count = 0

        public init() {}

        /// The next entry in order; a verdict when the chain breaks here, nil when it holds so far.
        public mutating func check(_ record: AuditRecord) -> AuditVerification? {
            let seq = record.seq
            let count = self.count
            func broken(_ problem: String) -> AuditVerification {
                AuditVerification(entries: count, headHash: nil, brokenAt: seq, problem: problem)
            }
            guard seq == expectedSeq else {
                return AuditVerification(entries: count, headHash: nil, brokenAt: expectedSeq,
                                         problem: "entry \(expectedSeq) is missing (next is \(seq))")
            }
            guard record.prevHash == expectedPrev else {
                return broken("entry \(seq) does not link to entry \(seq - 1) (an entry was removed, inserted or edited)")
            }
            let recomputed = AuditLog.digest(seq: seq, at: record.at, tenant: record.tenant, kind: record.kind, action: record.action,
                                             detail: record.detail, cause: record.cause, prevHash: record.prevHash)
            guard recomputed == record.hash else {
                return broken("entry \(seq) was altered: its content does not match its hash")
            }
            expectedPrev = record.hash
            expectedSeq += 1
            self.count += 1
            return nil
        }

        /// The verdict once every entry was checked: the head must name the last one.
        public func finish(head: AuditHead?) -> AuditVerification {
            let headSeq = head?.seq ?? 0
            let headHash = head?.hash ?? AuditLog.genesis
            guard headSeq == count, headHash == expectedPrev else {
                return AuditVerification(entries: count, headHash: nil, brokenAt: count + 1,
                                         problem: "the log ends at entry \(count) but its head records entry \(headSeq): entries were cut off the end")
            }
            return AuditVerification(entries: count, headHash: count == 0 ? nil : expectedPrev, brokenAt: nil, problem: nil)
        }
    }

    /// An entry as read back, its stored JSON decoded.
    public static func entry(_ record: AuditRecord) throws -> AuditEntry {
        guard let kind = AuditEntry.Kind(rawValue: record.kind) else {
            throw TenantError(.storeFailure, "audit entry \(record.seq) has unknown kind \(record.kind)")
        }
        let decoder = JSONDecoder()
        do {
            let detail = try decoder.decode([String: String].self, from: Data(record.detail.utf8))
            let cause = try decoder.decode(Cause.self, from: Data(record.cause.utf8))
            return AuditEntry(seq: record.seq, at: record.at, tenant: record.tenant, kind: kind, action: record.action,
                              detail: detail, cause: cause, prevHash: record.prevHash, hash: record.hash)
        } catch {
            throw TenantError(.storeFailure, "audit entry \(record.seq) is unreadable: its detail or cause is not the JSON it should be")
        }
    }

    public static func canonicalJSON(_ value: some Encodable) throws -> String {
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

    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
