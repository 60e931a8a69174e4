import CMKWorkflow
import Foundation

/// Receives KMS events (the `POST /v1/events/kms` route of `cmkctl serve`): authenticates the sender,
/// reads the event, records it, and starts a revocation check of each tenant whose keys it names.
///
/// The event is a hint only: all it can do is schedule a probe, and the probe decides. An API key
/// (`WebhookKey`) lets its tenant's keys be probed and no other tenant's; a Standard Webhooks signature
/// (the operator's own relay) may name any tenant's key. The same event (by sender scope and id) again
/// is acknowledged and starts nothing; at most five checks of one tenant run at once.
public struct KMSEventIntake<Repository: TenantRepository>: Sendable {
    /// How the sender proved who it is.
    public enum Credential: Sendable {
        case apiKey(String)
        case signature(id: String?, timestamp: String?, signature: String?)
    }

    /// What became of an event; every case is acknowledged (202) by the server.
    public enum Outcome: Sendable, Equatable {
        /// Checks were started (or joined) for these tenants.
        case accepted(tenants: [String])
        /// Recorded, and nothing to do: the reason says why.
        case ignored(String)
        /// This event was received before.
        case repeated
    }

    public let repository: Repository
    public let revocations: RevocationService<Repository>
    /// The Standard Webhooks secrets senders sign with; nil when only API keys are accepted.
    public let signatures: StandardWebhook?
    public let now: @Sendable () -> Date

    public init(repository: Repository, revocations: RevocationService<Repository>, signatures: StandardWebhook?,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.revocations = revocations
        self.signatures = signatures
        self.now = now
    }

    /// Handles one request body. Throws `unauthorized` (401) or `invalid-input` (400); a store failure
    /// propagates (the server answers 503 so the sender retries).
    public func receive(body: [UInt8], credential: Credential) async throws -> Outcome {
        let scope = try await authenticate(credential, body: body)
        let event = try KMSEvent(parsing: body)
        let key = "\(scope ?? "signed"):\(event.id)"
        let repository = repository
        if try await repository.read({ try await repository.receivedEvent(key: key, in: $0) }) != nil {
            return .repeated
        }
        if case .ignored(let reason) = event.relevance {
            try await record(key, event, outcome: "ignored: \(reason)", tenants: [])
            return .ignored(reason)
        }
        let tenants = try await repository.read { transaction in
            var named: [String] = []
            let records = try await repository.tenants(in: transaction)
            for record in records where scope == nil || record.id == scope {
                let generations = try await repository.generations(of: record.id, in: transaction)
                if generations.flatMap(\.keys).contains(where: { event.names($0.keyARN) }) { named.append(record.id) }
            }
            return named
        }
        guard !tenants.isEmpty else {
            let reason = scope.map { "it names no key of tenant \($0)" } ?? "it names no tenant's key"
                + (event.unmapped.isEmpty ? "" : " (unmapped: \(event.unmapped.joined(separator: ", ")))")
            try await record(key, event, outcome: "ignored: \(reason)", tenants: [])
            return .ignored(reason)
        }
        // Counted from each execution's input, not its name: a name prefix `revocation-acme-` also matches
        // tenant `acme-eu`'s checks. Only event checks count: a sweep's check waiting for its turn must not
        // take an event's place.
        let runningEventChecks = try await revocations.journal.executions(status: .running)
            .filter { $0.workflow == RevocationWorkflow.name && $0.input["trigger"]?["kind"]?.stringValue == RevocationTrigger.Kind.event.rawValue }
            .compactMap { $0.input["tenant"]?.stringValue }
        for tenant in tenants {
            // Each event gets its own check (one still waiting to re-probe an earlier pass must not hold a
            // new revocation back), but a burst is bounded: past `maximumChecksPerTenant` running event
            // checks of one tenant, a further event only joins them.
            if runningEventChecks.filter({ $0 == tenant }).count >= Self.maximumChecksPerTenant { continue }
            let trigger = RevocationTrigger(kind: .event, id: String(event.id.prefix(128)), eventTime: event.time, summary: event.summary,
                                            key: event.keys.first?.description)
            try await revocations.check(tenant: tenant, trigger: trigger)
        }
        // Recorded after the checks started: a crash in between makes the sender retry, and the checks'
        // names make the retry start nothing twice.
        try await record(key, event, outcome: "accepted", tenants: tenants)
        return .accepted(tenants: tenants)
    }

    /// The tenant an API key is for, or nil for a signed request.
    private func authenticate(_ credential: Credential, body: [UInt8]) async throws -> String? {
        switch credential {
        case .apiKey(let presented):
            guard !presented.isEmpty, presented.utf8.count <= 256 else { throw Self.unauthorized }
            let hash = WebhookKey.hash(of: presented)
            let repository = repository
            guard let key = try await repository.read({ try await repository.webhookKey(hash: hash, in: $0) }), key.revokedAt == nil else {
                throw Self.unauthorized
            }
            return key.tenant
        case .signature(let id, let timestamp, let signature):
            guard let signatures else { throw Self.unauthorized }
            do {
                try signatures.verify(id: id, timestamp: timestamp, signature: signature, body: body, now: now())
            } catch {
                throw TenantError(.unauthorized, "the request's Standard Webhooks signature does not verify (\(error.rawValue))")
            }
            return nil
        }
    }

    /// The most checks of one tenant running at once that events start.
    public static var maximumChecksPerTenant: Int { 5 }

    private static var unauthorized: TenantError {
        TenantError(.unauthorized, "the request has no valid API key or Standard Webhooks signature")
    }

    private func record(_ key: String, _ event: KMSEvent, outcome: String, tenants: [String]) async throws {
        let repository = repository, at = now()
        _ = try await repository.write { transaction in
            try await repository.insertReceivedEvent(
                ReceivedEvent(key: key, receivedAt: at, summary: String(event.summary.prefix(200)), outcome: String(outcome.prefix(1000)),
                              tenants: tenants),
                in: transaction)
        }
    }
}
