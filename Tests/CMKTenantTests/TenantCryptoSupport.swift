import CMKEnvelope
import CMKKMS
import CMKTenant
import Foundation

/// `TenantCrypto` over whichever backend the harness opened, with the streaming calls driven in pieces.
struct AnyTenantCrypto: Sendable {
    let encrypt: @Sendable (String, [UInt8], EncryptionContext) async throws -> TenantCiphertext
    let decrypt: @Sendable (String, [UInt8], EncryptionContext) async throws -> TenantPlaintext
    /// Encrypts the pieces as one stream (size unknown) and returns the message and its generation.
    let encryptStream: @Sendable (String, [[UInt8]], EncryptionContext) async throws -> (ciphertext: [UInt8], generation: Int)
    /// Decrypts a message fed `pieceSize` bytes at a time; returns the plaintext and its generation.
    let decryptStream: @Sendable (String, [UInt8], Int, EncryptionContext) async throws -> (plaintext: [UInt8], generation: Int?)
    let purge: @Sendable (String) async -> Int
    let metrics: @Sendable () async -> TenantCryptoMetrics
    let cache: MaterialsCache

    init<Repository: TenantRepository>(_ crypto: TenantCrypto<Repository>) {
        cache = crypto.cache
        encrypt = { try await crypto.encrypt(tenant: $0, plaintext: $1, context: $2) }
        decrypt = { try await crypto.decrypt(tenant: $0, ciphertext: $1, context: $2) }
        encryptStream = { tenant, pieces, context in
            var encryptor = try await crypto.encryptor(tenant: tenant, context: context, plaintextLength: nil)
            var message: [UInt8] = []
            for piece in pieces { try encryptor.update(piece, into: &message) }
            message += try encryptor.finish()
            return (message, encryptor.generation)
        }
        decryptStream = { tenant, message, pieceSize, context in
            var decryptor = try await crypto.decryptor(tenant: tenant, context: context)
            var plaintext: [UInt8] = []
            var offset = 0
            while offset < message.count {
                let end = min(offset + pieceSize, message.count)
                try await decryptor.update(message[offset..<end], into: &plaintext)
                offset = end
            }
            plaintext += try decryptor.finish()
            return (plaintext, decryptor.generation)
        }
        purge = { await crypto.purge(tenant: $0) }
        metrics = { await crypto.metrics() }
    }
}

extension TenantHarness {
    /// The tenant crypto of this harness's store, configuration and KMS.
    func crypto(configuration: TenantCryptoConfiguration = TenantCryptoConfiguration(),
                clock: some Clock<Duration> = ContinuousClock()) throws -> AnyTenantCrypto {
        try Self.crypto(fresh.store.repository, operatorConfiguration: self.configuration, kms: kms, configuration: configuration, clock: clock)
    }

    private static func crypto<Repository: TenantRepository>(
        _ repository: Repository, operatorConfiguration: OperatorConfiguration, kms: TenantKMS,
        configuration: TenantCryptoConfiguration, clock: some Clock<Duration>
    ) throws -> AnyTenantCrypto {
        AnyTenantCrypto(try TenantCrypto(repository: repository, operatorConfiguration: operatorConfiguration, kms: kms,
                                         configuration: configuration, clock: clock))
    }

    /// Enrolls `tenant` on `keys` and drives it to the end.
    @discardableResult
    func enroll(_ tenant: String, keys: [String], tag: String, ticket: String = "SUP-1") async throws -> TenantStatus {
        try await service.enroll(try request(ticket: ticket, tenant: tenant, keys: keys, tag: tag))
        return try await drive(tenant)
    }

    /// Adds `tenant` on the provider's key (generation 0), as `cmkctl tenants add` does.
    @discardableResult
    func add(_ tenant: String, tag: String) async throws -> TenantRecord {
        let registration = try TenantRegistration(tenant: tenant, tag: tag, operatorName: "tester", configuration: configuration)
        return try await registration.add(to: store, providerKey: configuration.providerKey).record
    }

    /// Creates the operator's provider key behind the default `alias/cmkctl-provider`.
    func providerKey() async throws {
        _ = try await localKey("cmkctl-provider")
    }

    /// Applies a lifecycle event through the repository, the way the engine's handlers do.
    func apply(_ event: TenantLifecycle.Event, to tenant: String) async throws {
        try await Self.apply(event, tenant: tenant, repository: store)
    }

    private static func apply(_ event: TenantLifecycle.Event, tenant: String, repository: some TenantRepository) async throws {
        _ = try await repository.write { transaction in
            try await repository.apply(event, tenant: tenant, waitingFor: nil, cause: Cause(operatorName: "tester"), now: Date(),
                                       in: transaction)
        }
    }

    func contextIdentifier(_ tenant: String) async throws -> String {
        guard let identifier = try await store.tenant(tenant)?.contextIdentifier else {
            throw TenantError(.unknownTenant, "\(tenant) has no identifier")
        }
        return identifier
    }
}
