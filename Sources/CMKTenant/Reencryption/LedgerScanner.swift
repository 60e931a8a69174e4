import CMKKMS

/// Counts a tenant's items per data source and generation from their headers alone: the full scan
/// behind `ledger --verify`, `reencrypt --dry-run`, the retirement gate and a re-encryption's total.
///
/// No data key is unwrapped; the only KMS calls are one DescribeKey per alias among the generations'
/// keys (a header names the key an alias resolved to).
public struct LedgerScanner: Sendable {
    public let kms: TenantKMS
    public let pageSize: Int

    public init(kms: TenantKMS, pageSize: Int = 1000) {
        self.kms = kms
        self.pageSize = pageSize
    }

    /// A reader for `generations`, with every alias among their keys resolved now.
    public func reader(for generations: [KeyGeneration]) async throws -> GenerationReader {
        GenerationReader(generations: generations, resolvedAliases: try await Self.resolveAliases(generations, kms: kms, counter: nil))
    }

    /// The items of `tenant` in `source` by generation (`LedgerEntry.unreadable` for those no
    /// generation claims); `onPage` hears the running count of items after each page.
    public func count(tenant: String, source: some DataSource, reader: GenerationReader,
                      onPage: @Sendable (Int) -> Void = { _ in }) async throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        var cursor: ItemID?
        var seen = 0
        while true {
            let batch = try await source.batch(tenant: tenant, after: cursor, limit: pageSize)
            for item in batch.items {
                counts[reader.read(message: item.ciphertext).ledgerGeneration, default: 0] += 1
            }
            seen += batch.items.count
            onPage(seen)
            guard let last = batch.last else { return counts }
            cursor = last
        }
    }

    /// Alias ARN → the key it names now, for every alias among `generations`' keys.
    ///
    /// Only the provider's generation 0 may name an alias. One that names no key (the provider's alias
    /// before anything was written under it, or a local KMS file without it) stays unresolved: a
    /// message under it is reported as unknown, with its key, rather than stopping every sweep.
    /// Outages are thrown, to be retried.
    static func resolveAliases(_ generations: [KeyGeneration], kms: TenantKMS, counter: KMSCallCounter?) async throws -> [String: String] {
        var resolved: [String: String] = [:]
        var missing: Set<String> = []
        for key in generations.flatMap(\.keys) where resolved[key.keyARN] == nil && !missing.contains(key.keyARN) {
            guard try KeyARN(validating: key.keyARN, allowAlias: true).isAlias else { continue }
            do {
                let base = try kms.client(forKey: key.keyARN)
                let client: any KMSClient = if let counter { CountedKMSClient(client: base, counter: counter) } else { base }
                resolved[key.keyARN] = try await TenantKeyring.keyARN(of: key.keyARN, client: client)
            } catch let error as KMSError where error.failureClass != .transient {
                missing.insert(key.keyARN)
            }
        }
        return resolved
    }
}

extension GenerationReader.Outcome {
    /// The ledger's generation of the message: unreadable and unclaimed ones count apart.
    public var ledgerGeneration: Int {
        if case .generation(let number, _) = self { return number }
        return LedgerEntry.unreadable
    }
}
