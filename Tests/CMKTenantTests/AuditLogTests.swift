import CMKSQLite
import CMKTenant
import Foundation
import GRDB
import Testing

/// The hash chain: intact after appends; an edit, a deletion or a cut-off tail is found and named.
@Suite struct AuditLogTests {
    func harnessWithEntries(_ count: Int) async throws -> TenantHarness {
        let harness = try TenantHarness()
        let store = harness.store
        try await store.write { transaction in
            for index in 1...count {
                try await AuditLog.append(store, in: transaction, tenant: index % 2 == 0 ? "acme" : "globex", kind: .transition,
                                          action: "step \(index)", detail: ["n": "\(index)"], cause: Cause(ticket: "SUP-\(index)"),
                                          at: Date())
            }
        }
        return harness
    }

    /// What an attacker with the database file does: drop the guard triggers, then change rows.
    func tamper(_ harness: TenantHarness, _ sql: String) throws {
        try harness.store.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            try db.execute(sql: sql)
        }
    }

    @Test func anIntactChainVerifies() async throws {
        let harness = try await harnessWithEntries(10)
        defer { harness.remove() }
        let result = try await harness.store.verifyAudit()
        #expect(result.isIntact)
        #expect(result.entries == 10)
        #expect(try await harness.store.auditEntries(tenant: "acme").map(\.seq) == [2, 4, 6, 8, 10])
    }

    @Test func theTriggersRefuseUpdatesAndDeletes() async throws {
        let harness = try await harnessWithEntries(3)
        defer { harness.remove() }
        #expect(throws: (any Error).self) { try harness.store.pool.write { try $0.execute(sql: "UPDATE audit_log SET action = 'x'") } }
        #expect(throws: (any Error).self) { try harness.store.pool.write { try $0.execute(sql: "DELETE FROM audit_log WHERE seq = 2") } }
    }

    @Test(arguments: [
        ("UPDATE audit_log SET action = 'nothing happened' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_log SET detail = '{\"n\":\"40\"}' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_log SET tenant = 'initech' WHERE seq = 7", 7, "altered"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "missing"),
        ("UPDATE audit_log SET hash = '00' WHERE seq = 9", 9, "altered"),
    ])
    func aTamperedEntryIsNamed(sql: String, entry: Int, words: String) async throws {
        let harness = try await harnessWithEntries(10)
        defer { harness.remove() }
        try tamper(harness, sql)
        let result = try await harness.store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.brokenAt == entry)
        #expect(result.problem?.contains(words) == true)
    }

    @Test func aRewrittenEntryWithARecomputedHashBreaksTheNextLink() async throws {
        let harness = try await harnessWithEntries(6)
        defer { harness.remove() }
        // Rewriting entry 3 and its own hash still leaves entry 4 pointing at the old hash.
        try tamper(harness, "UPDATE audit_log SET hash = '\(String(repeating: "a", count: 64))' WHERE seq = 3")
        #expect(try await harness.store.verifyAudit().brokenAt == 3)
    }

    @Test func entriesCutOffTheEndAreFound() async throws {
        let harness = try await harnessWithEntries(6)
        defer { harness.remove() }
        try tamper(harness, "DELETE FROM audit_log WHERE seq >= 5")
        let result = try await harness.store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.problem?.contains("cut off the end") == true)
    }
}
