import CMKEnvelope
import CMKKMS
import CMKTenant
import CMKTesting
import Foundation
import Testing

/// Tenant-scoped encrypt and decrypt on the local KMS, on both store backends: the tenant's pair
/// bound in, generations, the lifecycle gate, the confused-deputy refusal and the materials cache.
@Suite struct TenantCryptoTests {
    static let plaintext = Array("Quarterly numbers for tenant acme. \u{1F4C8}".utf8)
    static let purpose = try! EncryptionContext([("purpose", "report")])

    @Test(arguments: TestBackend.allCases)
    func roundTripUnderTheCurrentGenerationWithTheTenantsPair(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("acme-root")
        #expect(try await harness.enroll("acme", keys: [key], tag: "acmeprod").state == "active")
        let identifier = try await harness.contextIdentifier("acme")
        let crypto = try harness.crypto()

        let encrypted = try await crypto.encrypt("acme", Self.plaintext, Self.purpose)
        #expect(encrypted.generation == 1)
        let decrypted = try await crypto.decrypt("acme", encrypted.ciphertext, Self.purpose)
        #expect(decrypted.plaintext == Self.plaintext)
        #expect(decrypted.generation == 1)
        #expect(decrypted.encryptionContext == (try EncryptionContext([("purpose", "report"), ("cmk-tenant", identifier)])))
        // No caller context on decrypt: the tenant pair alone is required.
        #expect(try await crypto.decrypt("acme", encrypted.ciphertext, .empty).plaintext == Self.plaintext)

        // An ordinary AWS Encryption SDK message: the tenant's key and context open it without cmkctl's tenant layer.
        let plain = try await Envelope().decrypt(encrypted.ciphertext, keyring: KMSKeyring(client: try harness.localKMS, generatorKeyID: key),
                                                 requiredContext: try EncryptionContext([("cmk-tenant", identifier)]))
        #expect(plain.plaintext == Self.plaintext)
        #expect(plain.encryptedDataKeys.map { String(decoding: $0.providerInfo, as: UTF8.self) } == [key])
    }

    @Test func aCallerPairWithTheContextKeyIsRefused() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let identifier = try await harness.contextIdentifier("acme")
        let crypto = try harness.crypto()
        let message = try await crypto.encrypt("acme", Self.plaintext, .empty).ciphertext
        // Even with the tenant's own value: the pair always comes from the store.
        for value in [identifier, "globex-000000"] {
            let context = try EncryptionContext([("cmk-tenant", value)])
            let onEncrypt = await #expect(throws: TenantError.self) { try await crypto.encrypt("acme", Self.plaintext, context) }
            #expect(onEncrypt?.code == .invalidInput)
            let onDecrypt = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", message, context) }
            #expect(onDecrypt?.code == .invalidInput)
        }
        let reserved = await #expect(throws: TenantError.self) {
            try await crypto.encrypt("acme", Self.plaintext, try EncryptionContext([("aws-crypto-public-key", "x")]))
        }
        #expect(reserved?.code == .invalidInput)
    }

    /// The confused-deputy defence: a message of another tenant sent to this tenant's decrypt fails
    /// with the same error as a damaged message, and before any KMS call, even when both tenants are
    /// still on the provider's shared key (generation 0), where KMS alone would have opened it.
    @Test(arguments: ["shared provider key", "own keys"])
    func anotherTenantsMessageFailsLikeADamagedOneWithoutAKMSCall(keys: String) async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.providerKey()
        if keys == "own keys" {
            try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
            try await harness.enroll("globex", keys: [try await harness.localKey("globex-root")], tag: "globex", ticket: "SUP-2")
        } else {
            try await harness.add("acme", tag: "acmeprod")
            try await harness.add("globex", tag: "globex")
        }
        let crypto = try harness.crypto()
        let globexMessage = try await crypto.encrypt("globex", Self.plaintext, Self.purpose)
        #expect(globexMessage.generation == (keys == "own keys" ? 1 : 0))
        let acmeMessage = try await crypto.encrypt("acme", Self.plaintext, Self.purpose).ciphertext
        var damaged = acmeMessage
        damaged[damaged.count - 20] ^= 0x01

        let before = await crypto.metrics().kmsCalls
        let crossTenant = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", globexMessage.ciphertext, Self.purpose) }
        #expect(await crypto.metrics().kmsCalls == before)
        let tampered = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", damaged, Self.purpose) }
        #expect(crossTenant == TenantError.decryptFailed)
        #expect(tampered == TenantError.decryptFailed)
        #expect(crossTenant?.code.name == "decrypt-failed")
        // Each tenant still reads its own.
        #expect(try await crypto.decrypt("globex", globexMessage.ciphertext, Self.purpose).plaintext == Self.plaintext)
        #expect(try await crypto.decrypt("acme", acmeMessage, Self.purpose).plaintext == Self.plaintext)
    }

    @Test(arguments: TestBackend.allCases)
    func suspendedAndOffboardedTenantsAreRefusedAndTheirCacheIsPurged(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let crypto = try harness.crypto()
        let message = try await crypto.encrypt("acme", Self.plaintext, .empty).ciphertext
        _ = try await crypto.decrypt("acme", message, .empty)
        #expect(await crypto.metrics().cache.entries == 2)

        try await harness.apply(.revocationConfirmed, to: "acme")
        #expect(try await harness.store.tenant("acme")?.state == .suspended)
        let onEncrypt = await #expect(throws: TenantError.self) { try await crypto.encrypt("acme", Self.plaintext, .empty) }
        let onDecrypt = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", message, .empty) }
        #expect(onEncrypt?.code == .tenantSuspended && onDecrypt?.code == .tenantSuspended)
        #expect(onEncrypt?.code.name == "tenant-suspended")
        #expect(await crypto.metrics().cache.entries == 0)

        try await harness.apply(.reinstated, to: "acme")
        #expect(try await crypto.decrypt("acme", message, .empty).plaintext == Self.plaintext)

        try await harness.apply(.revocationConfirmed, to: "acme")
        try await harness.apply(.offboarded, to: "acme")
        let offboarded = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", message, .empty) }
        #expect(offboarded?.code == .tenantSuspended)
    }

    @Test func anUnknownTenantIsRefused() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        let crypto = try harness.crypto()
        let error = await #expect(throws: TenantError.self) { try await crypto.encrypt("nobody", Self.plaintext, .empty) }
        #expect(error?.code == .tenantUnknown && error?.code.name == "tenant-unknown")
        let onDecrypt = await #expect(throws: TenantError.self) { try await crypto.decrypt("nobody", [1, 2, 3], .empty) }
        #expect(onDecrypt?.code == .tenantUnknown)
    }

    /// A tenant added on the provider's key works at once (generation 0, through the operator's
    /// alias); while its enrollment waits for the customer it keeps working on generation 0; after
    /// the switch new messages are generation 1 and the old ones still open.
    @Test func generationZeroThenAWaitingEnrollmentThenTheSwitch() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.providerKey()
        try await harness.add("acme", tag: "acmeprod")
        let crypto = try harness.crypto()
        let onProviderKey = try await crypto.encrypt("acme", Self.plaintext, Self.purpose)
        #expect(onProviderKey.generation == 0)
        #expect(try await crypto.decrypt("acme", onProviderKey.ciphertext, Self.purpose).generation == 0)

        let key = try await harness.localKey("acme-root")
        try await harness.localKMS.disableKey(keyID: key)
        #expect(try await harness.enroll("acme", keys: [key], tag: "acmeprod").state == "awaiting-customer")
        let whileWaiting = try await crypto.encrypt("acme", Self.plaintext, Self.purpose)
        #expect(whileWaiting.generation == 0)
        #expect(try await crypto.decrypt("acme", whileWaiting.ciphertext, Self.purpose).plaintext == Self.plaintext)

        try await harness.localKMS.enableKey(keyID: key)
        let execution = try await harness.status("acme").execution
        _ = try await harness.journal.signal(execution: execution, payload: ["fixed": true], now: Date())
        #expect(try await harness.drive("acme").state == "active")
        let purgesBefore = await crypto.metrics().cache.purges
        let afterSwitch = try await crypto.encrypt("acme", Self.plaintext, Self.purpose)
        #expect(afterSwitch.generation == 1)
        // The switch purged what was cached under generation 0.
        #expect(await crypto.metrics().cache.purges == purgesBefore + 1)
        for message in [onProviderKey, whileWaiting, afterSwitch] {
            let decrypted = try await crypto.decrypt("acme", message.ciphertext, Self.purpose)
            #expect(decrypted.plaintext == Self.plaintext && decrypted.generation == message.generation)
        }
    }

    @Test func theCacheKeepsKMSCallsNearZero() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let crypto = try harness.crypto()
        var messages: [[UInt8]] = []
        for index in 0..<100 {
            messages.append(try await crypto.encrypt("acme", Array("record \(index)".utf8), Self.purpose).ciphertext)
        }
        for (index, message) in messages.enumerated() {
            #expect(try await crypto.decrypt("acme", message, Self.purpose).plaintext == Array("record \(index)".utf8))
        }
        let metrics = await crypto.metrics()
        // One Encrypt to wrap the cached data key, one Decrypt to unwrap it: 2 KMS calls for 200 operations.
        #expect(metrics.kmsCalls == 2)
        #expect(metrics.cache.hits == 198 && metrics.cache.misses == 2)
        #expect(await crypto.purge("acme") == 2)
        _ = try await crypto.decrypt("acme", messages[0], Self.purpose)
        #expect(await crypto.metrics().kmsCalls == 3)
    }

    @Test func theCacheHardAgeBoundsHowLongARevokedKeyKeepsWorking() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        let key = try await harness.localKey("acme-root")
        try await harness.enroll("acme", keys: [key], tag: "acmeprod")
        let clock = ManualClock()
        let crypto = try harness.crypto(configuration: TenantCryptoConfiguration(cacheLimits: .init(softAge: .seconds(60), hardAge: .seconds(120))),
                                        clock: clock.continuous)
        let message = try await crypto.encrypt("acme", Self.plaintext, .empty).ciphertext
        _ = try await crypto.decrypt("acme", message, .empty)
        // The customer disables the key; no probe has suspended the tenant yet.
        try await harness.localKMS.disableKey(keyID: key)
        clock.advance(by: .seconds(90))
        // Past the soft age: still served, the background refreshes fail on the disabled key.
        _ = try await crypto.encrypt("acme", Self.plaintext, .empty)
        _ = try await crypto.decrypt("acme", message, .empty)
        await crypto.cache.waitForFetches()
        #expect(await crypto.metrics().cache.refreshFailures == 2)
        clock.advance(by: .seconds(30))
        // Past the hard age: the revocation shows as the KMS failure it is, on both operations.
        let onEncrypt = await #expect(throws: KMSError.self) { try await crypto.encrypt("acme", Self.plaintext, .empty) }
        let onDecrypt = await #expect(throws: KMSError.self) { try await crypto.decrypt("acme", message, .empty) }
        #expect(onEncrypt?.failureClass == .revocation && onDecrypt?.failureClass == .revocation)
    }

    @Test func streamsInPiecesWithAnUncachedDataKey() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let crypto = try harness.crypto()
        let plaintext = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let pieces = stride(from: 0, to: plaintext.count, by: 7_777).map { Array(plaintext[$0..<min($0 + 7_777, plaintext.count)]) }
        let first = try await crypto.encryptStream("acme", pieces, Self.purpose)
        let second = try await crypto.encryptStream("acme", pieces, Self.purpose)
        #expect(first.generation == 1)
        let decrypted = try await crypto.decryptStream("acme", first.ciphertext, 5_000, Self.purpose)
        #expect(decrypted.plaintext == plaintext && decrypted.generation == 1)
        #expect(try await crypto.decrypt("acme", second.ciphertext, Self.purpose).plaintext == plaintext)
        // A stream of unknown size gets a data key of its own: two messages, two KMS wraps.
        let metrics = await crypto.metrics()
        #expect(metrics.cache.bypasses == 2)
        // A message cut short fails like any damaged one.
        let cut = Array(first.ciphertext.dropLast(10))
        let truncated = await #expect(throws: TenantError.self) { _ = try await crypto.decryptStream("acme", cut, 4_096, Self.purpose) }
        #expect(truncated == TenantError.decryptFailed)
    }
}
