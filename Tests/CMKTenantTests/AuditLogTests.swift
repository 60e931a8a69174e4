import CMKTenant
import CMKTesting
import Foundation
import Testing

/// The hash chain: intact after appends; an edit, a deletion or a cut-off tail is found and named.
@Suite struct AuditLogTests {
    func harnessWithEntries(_ count: Int, _ backend: TestBackend) async throws -> TenantHarness {
        let harness = try await TenantHarness(backend)
        try await Self.append(count, to: harness.fresh.store.repository)
        return harness
    }

    static func append(_ count: Int, to store: some TenantRepository) async throws {
        try await store.write { transaction in
            for index in 1...count {
                try await AuditLog.append(store, in: transaction, tenant: index % 2 == 0 ? "acme" : "globex", kind: .transition,
                                          action: "step \(index)", detail: ["n": "\(index)"], cause: Cause(ticket: "SUP-\(index)"),
                                          at: Date())
            }
        }
    }

    /// What an attacker with the database's credentials does: drop the guard triggers, then change rows.
    func tamper(_ harness: TenantHarness, _ sql: String) async throws {
        try await harness.rawSQL(harness.fresh.dropAuditGuardSQL)
        try await harness.rawSQL(sql)
    }

    @Test(arguments: TestBackend.allCases)
    func anIntactChainVerifies(backend: TestBackend) async throws {
        let harness = try await harnessWithEntries(10, backend)
        defer { harness.remove() }
        let result = try await harness.store.verifyAudit()
        #expect(result.isIntact)
        #expect(result.entries == 10)
        #expect(try await harness.store.auditEntries(tenant: "acme").map(\.seq) == [2, 4, 6, 8, 10])
    }

    @Test(arguments: TestBackend.allCases)
    func theTriggersRefuseUpdatesAndDeletes(backend: TestBackend) async throws {
        let harness = try await harnessWithEntries(3, backend)
        defer { harness.remove() }
        await #expect(throws: (any Error).self) { try await harness.rawSQL("UPDATE audit_log SET action = 'x'") }
        await #expect(throws: (any Error).self) { try await harness.rawSQL("DELETE FROM audit_log WHERE seq = 2") }
        #expect(try await harness.store.verifyAudit().isIntact)
    }

    @Test(arguments: [
        ("UPDATE audit_log SET action = 'nothing happened' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_log SET detail = '{\"n\":\"40\"}' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_log SET tenant = 'initech' WHERE seq = 7", 7, "altered"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "missing"),
        ("UPDATE audit_log SET hash = '00' WHERE seq = 9", 9, "altered"),
    ], TestBackend.allCases)
    func aTamperedEntryIsNamed(tampering: (sql: String, entry: Int, words: String), backend: TestBackend) async throws {
        let (sql, entry, words) = tampering
        let harness = try await harnessWithEntries(10, backend)
        defer { harness.remove() }
        try await tamper(harness, sql)
        let result = try await harness.store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.brokenAt == entry)
        #expect(result.problem?.contains(words) == true)
    }

    @Test(arguments: TestBackend.allCases)
    func aRewrittenEntryWithARecomputedHashBreaksTheNextLink(backend: TestBackend) async throws {
        let harness = try await harnessWithEntries(6, backend)
        defer { harness.remove() }
        // Rewriting entry 3 and its own hash still leaves entry 4 pointing at the old hash.
        try await tamper(harness, "UPDATE audit_log SET hash = '\(String(repeating: "a", count: 64))' WHERE seq = 3")
        #expect(try await harness.store.verifyAudit().brokenAt == 3)
    }

    @Test(arguments: TestBackend.allCases)
    func entriesCutOffTheEndAreFound(backend: TestBackend) async throws {
        let harness = try await harnessWithEntries(6, backend)
        defer { harness.remove() }
        try await tamper(harness, "DELETE FROM audit_log WHERE seq >= 5")
        let result = try await harness.store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.problem?.contains("cut off the end") == true)
    }
}
