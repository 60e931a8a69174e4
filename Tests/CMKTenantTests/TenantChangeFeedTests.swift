import CMKEnvelope
import CMKKMS
import CMKTenant
import CMKTesting
import Foundation
import Testing

/// The store's change feed and the follower that makes a long-lived process forget a tenant that
/// another process changed: the purge propagation of the revocation bound.
@Suite struct TenantChangeFeedTests {
    static let plaintext = Array("Invoices of tenant acme.".utf8)

    @Test(arguments: TestBackend.allCases)
    func everyWriteThatChangesWhatCryptoSeesIsRecordedWhoeverMakesIt(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        try await harness.add("globex", tag: "globexprod")
        try await Self.recordedChanges(harness, store: harness.store)
    }

    private static func recordedChanges<Repository: TenantRepository>(_ harness: TenantHarness, store: Repository) async throws {
        let before = try await store.read { try await store.latestTenantChange(in: $0) }
        #expect(before > 0)

        try await harness.apply(.revocationConfirmed, to: "acme")
        // Bookkeeping that encrypt and decrypt never read leaves no change.
        _ = try await store.write { try await store.addWaitingRound(tenant: "globex", in: $0) }
        // A write around cmkctl is recorded too.
        try await harness.rawSQL("UPDATE tenants SET state = 'active' WHERE id = 'globex'")

        let changes = try await store.read { try await store.tenantChanges(after: before, limit: 100, in: $0) }
        #expect(changes.map(\.tenant) == ["acme", "globex"])
        #expect(changes.map(\.seq) == changes.map(\.seq).sorted())
        let paged = try await store.read { try await store.tenantChanges(after: before, limit: 1, in: $0) }
        #expect(paged.map(\.tenant) == ["acme"])
    }

    /// A second process suspends acme; the first one, which has acme's snapshot and data keys, refuses
    /// acme within one poll (SQLite, driven by the manual clock) or at once on the trigger's NOTIFY
    /// (PostgreSQL, without moving the clock). Until the feed says so, the snapshot is what it uses.
    @Test(arguments: TestBackend.allCases)
    func anotherProcesssSuspensionIsFollowedWithinOnePoll(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let other = try await harness.fresh.openAnother()
        defer { Task { await other.close() } }
        try await Self.follow(harness, repository: harness.store, other: other.repository)
    }

    private static func follow<Mine: TenantRepository, Other: TenantRepository>(
        _ harness: TenantHarness, repository: Mine, other: Other
    ) async throws {
        let clock = ManualClock()
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms,
                                      clock: clock.continuous, feedClock: clock)
        let follower = crypto.changeFollower(pollInterval: .milliseconds(100), processName: "sidecar-1")
        let following = Task { await follower.run() }
        defer { following.cancel() }
        try await eventually("the follower's first poll") { follower.isCurrent }

        let message = try await crypto.encrypt(tenant: "acme", plaintext: plaintext).ciphertext
        #expect(crypto.directory.count == 1 && crypto.directory.isVouched)
        #expect(await crypto.metrics().cache.entries == 1)

        _ = try await other.write { transaction in
            try await other.apply(.revocationConfirmed, tenant: "acme", waitingFor: nil, cause: Cause(operatorName: "other process"),
                                  now: Date(), in: transaction)
        }
        switch harness.backend {
        case .sqlite:
            // No poll yet: the snapshot still says active (this is the window the poll interval bounds).
            #expect(try await crypto.decrypt(tenant: "acme", ciphertext: message).plaintext == plaintext)
            clock.advance(by: .milliseconds(100))
        case .postgres:
            break
        }
        try await eventually("acme forgotten") { crypto.directory.count == 0 && follower.snapshot.changesSeen >= 1 }
        try await eventually("acme's data keys dropped") { await crypto.metrics().cache.entries == 0 }
        let refused = await #expect(throws: TenantError.self) { try await crypto.decrypt(tenant: "acme", ciphertext: message) }
        #expect(refused?.code == .tenantSuspended)
        #expect(follower.snapshot.changesSeen >= 1)

        // This process's word that it stopped serving acme: the end of the revocation bound.
        try await eventually("the purge acknowledgement") {
            try await repository.read { try await repository.purges(of: "acme", in: $0) }.map(\.process) == ["sidecar-1"]
        }
        let status = try #require(try await harness.overview.status(tenant: "acme").first)
        let bound = try #require(status.lastRevocation)
        #expect(bound.processes == 1 && bound.lastPurgeAt != nil && (bound.boundMilliseconds ?? -1) >= 0)
    }

    @Test func aSnapshotIsTrustedOnlyWhileVouchedAndNeverKeptAcrossAChange() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        try await Self.trustOnlyWhileVouched(harness, repository: harness.store)
    }

    private static func trustOnlyWhileVouched<Repository: TenantRepository>(_ harness: TenantHarness, repository: Repository) async throws {
        let clock = ManualClock()
        let crypto = try TenantCrypto(repository: repository,
                                      operatorConfiguration: harness.configuration, kms: harness.kms,
                                      configuration: TenantCryptoConfiguration(snapshotMaxAge: .seconds(30)),
                                      clock: clock.continuous, feedClock: clock)
        // No follower: nothing is kept, every call reads the store.
        _ = try await crypto.encrypt(tenant: "acme", plaintext: plaintext)
        #expect(crypto.directory.count == 0 && !crypto.directory.isVouched)

        let follower = crypto.changeFollower(pollInterval: .milliseconds(100))
        let following = Task { await follower.run() }
        try await eventually("the follower's first poll") { follower.isCurrent }
        _ = try await crypto.encrypt(tenant: "acme", plaintext: plaintext)
        #expect(crypto.directory.count == 1)

        // Past the maximum age the snapshot is read again (and kept again).
        clock.advance(by: .seconds(31))
        try await eventually("a poll after the jump") { follower.isCurrent }
        _ = try await crypto.encrypt(tenant: "acme", plaintext: plaintext)
        #expect(crypto.directory.count == 1)

        // Stopped, the follower withdraws: snapshots are no longer trusted.
        following.cancel()
        await following.value
        #expect(!crypto.directory.isVouched)
        try await harness.apply(.revocationConfirmed, to: "acme")
        let refused = await #expect(throws: TenantError.self) { try await crypto.encrypt(tenant: "acme", plaintext: plaintext) }
        #expect(refused?.code == .tenantSuspended)
    }
}

/// Waits (in real time, at most 60 s: a guard against a hang, not a speed check) until `condition`
/// holds; fails the test otherwise. The condition is checked once more at the deadline, since a busy
/// suite can leave this loop unscheduled for a while.
func eventually(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    if try await condition() { return }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}
