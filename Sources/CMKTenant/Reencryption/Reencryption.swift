import CMKEnvelope
import CMKKMS
import Logging

/// Moves a tenant's items in one data source from older key generations to the current one, a
/// page at a time: the library function a re-encryption workflow step calls with its cursor.
///
/// Each item's generation is read from its header; items already current are left alone. An
/// unsigned message (0x0478) is rewrapped (its data key unwrapped once and wrapped under the current
/// generation; the body is copied), a signed one (0x0578) is decrypted and encrypted again through
/// `TenantCrypto`. The page's new bytes replace the old in one batch of compare-and-swaps, so an
/// application write in between is never overwritten: that item is re-read and handled again. An
/// item that cannot be read or decrypted is recorded with its reason, never skipped silently. A KMS
/// refusal or outage is thrown as the `KMSError` it is, before anything of the page is written, so
/// the caller can pause (a revoked key) or retry (an outage) from the same cursor.
public struct Reencryption<Repository: TenantRepository>: Sendable {
    public typealias Mode = ReencryptionMode

    public let crypto: TenantCrypto<Repository>
    public let mode: Mode
    private let kms: TenantKMS
    private let counter = KMSCallCounter()
    private let logger: Logger

    /// - Parameter kms: the same KMS clients `crypto` uses; rewrap asks them directly for the wraps.
    public init(crypto: TenantCrypto<Repository>, kms: TenantKMS, mode: Mode = .rewrap,
                logger: Logger = Logger(label: "cmk.tenant.reencryption")) {
        self.crypto = crypto
        self.kms = kms
        self.mode = mode
        self.logger = logger
    }

    /// KMS calls made by rewraps and alias lookups (full re-encryptions count in `crypto.metrics()`).
    public var rewrapKMSCalls: Int { counter.count }

    /// Handles the page of `source` after `cursor`: at most `limit` rows.
    public func sweep(tenant: String, source: some DataSource, after cursor: ItemID?, limit: Int) async throws -> ReencryptionPage {
        let keys = try await crypto.tenantKeys(tenant, for: .decrypt)
        let reader = GenerationReader(generations: keys.generations, resolvedAliases: try await resolveAliases(keys.generations))
        let batch = try await source.batch(tenant: tenant, after: cursor, limit: limit)
        var page = ReencryptionPage(cursor: batch.last ?? cursor, finished: batch.last == nil)
        page.scanned = batch.items.count
        var memo = WrapMemo()
        // Each round moves what is behind and writes it in one compare-and-swap batch; the items an
        // application changed in between are re-read and go round again.
        var pending = batch.items
        for _ in 0...Self.maxRaces where !pending.isEmpty {
            var swaps: [(swap: DataSourceSwap, how: Mode)] = []
            for item in pending {
                if let move = try await move(item, tenant: tenant, keys: keys, reader: reader, memo: &memo, page: &page) {
                    swaps.append((DataSourceSwap(id: item.id, column: item.column, old: item.ciphertext, new: move.bytes), move.how))
                }
            }
            let results = try await source.compareAndSwap(swaps.map(\.swap))
            pending = []
            for (entry, swapped) in zip(swaps, results) {
                if swapped {
                    if entry.how == .rewrap { page.rewrapped += 1 } else { page.reencrypted += 1 }
                    page.generations[keys.current.number, default: 0] += 1
                    continue
                }
                page.lostRaces += 1
                guard let now = try await source.item(id: entry.swap.id, column: entry.swap.column) else {
                    page.vanished += 1
                    continue
                }
                pending.append(DataSourceItem(id: entry.swap.id, column: entry.swap.column, ciphertext: now))
            }
        }
        for item in pending {
            page.failures.append(ReencryptionFailure(id: item.id, column: item.column, reason: .keptChanging))
            page.generations[reader.read(message: item.ciphertext).ledgerGeneration, default: 0] += 1
        }
        for failure in page.failures {
            logger.debug("item not re-encrypted", metadata: [
                "tenant": "\(tenant.escapingControlCharacters)", "source": "\(source.configuration.name)",
                "item": "\(failure.id.description.escapingControlCharacters)", "column": "\(failure.column)", "reason": "\(failure.reason)",
            ])
        }
        return page
    }

    /// The key each alias among the generations names now (the provider key of generation 0 is
    /// usually an alias): one DescribeKey per alias and page, so a header can be matched.
    private func resolveAliases(_ generations: [KeyGeneration]) async throws -> [String: String] {
        try await LedgerScanner.resolveAliases(generations, kms: kms, counter: counter)
    }

    /// The item's new bytes when it is behind; nil when it is current or cannot be moved (counted
    /// or recorded in `page`).
    private func move(_ item: DataSourceItem, tenant: String, keys: TenantCrypto<Repository>.TenantKeys, reader: GenerationReader,
                      memo: inout WrapMemo, page: inout ReencryptionPage) async throws -> (bytes: [UInt8], how: Mode)? {
        switch reader.read(message: item.ciphertext) {
        case .unreadable:
            page.failures.append(ReencryptionFailure(id: item.id, column: item.column, reason: .notAMessage))
            page.generations[LedgerEntry.unreadable, default: 0] += 1
            return nil
        case .unknown(let named, _):
            page.failures.append(ReencryptionFailure(id: item.id, column: item.column, reason: .unknownKeys(named)))
            page.generations[LedgerEntry.unreadable, default: 0] += 1
            return nil
        case .generation(let number, _) where number == keys.current.number:
            page.current += 1
            page.generations[number, default: 0] += 1
            return nil
        case .generation(let number, let suite):
            page.behind += 1
            do {
                if mode == .rewrap, suite.messageFormatVersion == 2, suite.isCommitting, !suite.isSigned {
                    return (try await rewrap(item.ciphertext, keys: keys, memo: &memo), .rewrap)
                }
                return (try await reencrypt(item.ciphertext, tenant: tenant), .reencrypt)
            } catch let error as EnvelopeError where error.code == .authenticationFailed {
                page.failures.append(ReencryptionFailure(id: item.id, column: item.column, reason: .undecryptable))
                page.generations[number, default: 0] += 1
                return nil
            } catch let error as TenantError where error.code == .decryptFailed {
                page.failures.append(ReencryptionFailure(id: item.id, column: item.column, reason: .undecryptable))
                page.generations[number, default: 0] += 1
                return nil
            }
        }
    }

    /// An application that rewrites one item faster than the sweep can is reported, not chased forever.
    static var maxRaces: Int { 3 }

    private func rewrap(_ message: [UInt8], keys: TenantCrypto<Repository>.TenantKeys, memo: inout WrapMemo) async throws -> [UInt8] {
        let required = try crypto.bind(.empty, identifier: keys.identifier)
        var decryptKeys: [KeyGeneration.RegionalKey] = []
        for key in keys.generations.flatMap(\.keys) where !decryptKeys.contains(key) {
            decryptKeys.append(key)
        }
        let unwrapping = CachingMaterials(underlying: KeyringMaterials(keyring: keyring(decryptKeys)), cache: crypto.cache,
                                          partition: keys.partition)
        let envelope = Envelope(configuration: crypto.configuration.envelope)
        let summary = try MessageHeaderSummary(reading: message)
        let key = WrapMemo.Key(context: try summary.encryptionContext.serialized(), replaced: summary.encryptedDataKeys)
        if let known = memo.lookup(key) {
            return try await envelope.rewrap(message, unwrappingWith: unwrapping, wrappingWith: ReplayKeyring(encryptedDataKeys: known),
                                             requiredContext: required)
        }
        let rewrapped = try await envelope.rewrap(message, unwrappingWith: unwrapping, wrappingWith: keyring(keys.current.keys),
                                                  requiredContext: required)
        memo.store(key, try MessageHeaderSummary(reading: rewrapped).encryptedDataKeys)
        return rewrapped
    }

    /// Decrypts and encrypts again through `TenantCrypto`, keeping the caller's context pairs.
    private func reencrypt(_ message: [UInt8], tenant: String) async throws -> [UInt8] {
        let decrypted = try await crypto.decrypt(tenant: tenant, ciphertext: message)
        let contextKey = crypto.operatorConfiguration.contextKey
        let callerPairs = decrypted.encryptionContext.pairs
            .filter { $0.key != contextKey && !$0.key.hasPrefix(EncryptionContext.reservedPrefix) }
            .map { ($0.key, $0.value) }
        return try await crypto.encrypt(tenant: tenant, plaintext: decrypted.plaintext, context: try EncryptionContext(callerPairs)).ciphertext
    }

    private func keyring(_ keys: [KeyGeneration.RegionalKey]) -> TenantKeyring {
        TenantKeyring(keys: keys, kms: kms, configuration: crypto.configuration.multiRegion, monitor: crypto.monitor, counter: counter)
    }
}

/// How an older item is moved.
public enum ReencryptionMode: String, Sendable, Codable, CaseIterable {
    /// Rewrap what can be rewrapped (unsigned suites); re-encrypt the rest in full.
    case rewrap
    /// Decrypt and encrypt every item again, under a fresh (cached) data key.
    case reencrypt
}

/// What one page of a sweep did.
public struct ReencryptionPage: Sendable, Equatable {
    /// Where the next page starts; `finished` when no row was left after the cursor.
    public var cursor: ItemID?
    public var finished: Bool
    public var scanned = 0
    /// Already under the current generation.
    public var current = 0
    public var rewrapped = 0
    public var reencrypted = 0
    /// Compare-and-swaps that found the item changed by an application; each was re-read.
    public var lostRaces = 0
    /// Items deleted between the read and the write.
    public var vanished = 0
    public var failures: [ReencryptionFailure] = []
    /// Items met behind the current generation (moved or not).
    public var behind = 0
    /// After the page, its items by generation (`LedgerEntry.unreadable` for those none can open):
    /// what the ledger adds up over a pass. Items that vanished are in no generation.
    public var generations: [Int: Int] = [:]

    public init(cursor: ItemID?, finished: Bool) {
        self.cursor = cursor
        self.finished = finished
    }
}

/// An item the sweep could not move, and why; the tenant's status shows these.
public struct ReencryptionFailure: Sendable, Equatable {
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The bytes are not an AWS Encryption SDK message.
        case notAMessage
        /// Its data key is wrapped only under keys no generation of the tenant holds.
        case unknownKeys([String])
        /// The header names the tenant's keys but the message does not open: damaged, tampered,
        /// or written with another tenant's context.
        case undecryptable
        /// An application rewrote it on every attempt.
        case keptChanging

        public var description: String {
            switch self {
            case .notAMessage: "not an AWS Encryption SDK message"
            case .unknownKeys(let keys): "wrapped only under keys of no generation of the tenant: \(keys.joined(separator: ", "))"
            case .undecryptable: "cannot be decrypted with the tenant's keys and context (damaged, tampered with, or not this tenant's)"
            case .keptChanging: "changed by an application on every attempt"
            }
        }
    }

    public let id: ItemID
    public let column: String
    public let reason: Reason
}

/// New encrypted data keys already made in this page, by the copies and context they replace:
/// items written with cached materials share a data key (the same copies unwrap to the same key),
/// so one wrap per data key serves all of them.
struct WrapMemo: Sendable {
    struct Key: Hashable, Sendable {
        let context: [UInt8]
        let replaced: [EncryptedDataKey]
    }

    private var entries: [Key: [EncryptedDataKey]] = [:]
    static let capacity = 1024

    func lookup(_ key: Key) -> [EncryptedDataKey]? { entries[key] }

    mutating func store(_ key: Key, _ value: [EncryptedDataKey]) {
        if entries.count >= Self.capacity { entries.removeAll() }
        entries[key] = value
    }
}

/// Hands out copies made earlier for the same data key: no KMS call. `Envelope.rewrap` still
/// unwraps the data key and checks the header with it, so a copy only ever joins its own key.
struct ReplayKeyring: Keyring {
    let encryptedDataKeys: [EncryptedDataKey]

    func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        guard materials.plaintextDataKey != nil else {
            throw EnvelopeError(.misuse, "replayed copies need the data key they wrap")
        }
        var materials = materials
        for key in encryptedDataKeys { materials.append(key) }
        return materials
    }

    func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        materials
    }
}
