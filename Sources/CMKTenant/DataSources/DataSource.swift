/// Where an application keeps tenant ciphertexts, as the re-encryption sweep and the ledger read
/// and write them: pages of items in id order, and compare-and-swap writes.
///
/// Three implementations: `DirectoryDataSource` here, the SQLite source in CMKSQLite and the
/// PostgreSQL source in CMKPostgres (CMKTenant knows no database library).
public protocol DataSource: Sendable {
    var configuration: DataSourceConfiguration { get }

    /// The tenant's items in rows after `cursor`, in id order, at most `limit` rows; a NULL column is
    /// no item. Keyset pagination, so a page costs the same at the end of a large table as at its start.
    func batch(tenant: String, after cursor: ItemID?, limit: Int) async throws -> DataSourceBatch

    /// The item as it is now; nil when its row or value is gone. What a sweep re-reads after a lost race.
    func item(id: ItemID, column: String) async throws -> [UInt8]?

    /// Replaces the item only if it still holds `old`, byte for byte; false when an application wrote
    /// it in between (or removed it), so that write is never overwritten.
    func compareAndSwap(id: ItemID, column: String, old: [UInt8], new: [UInt8]) async throws -> Bool

    /// Several compare-and-swaps in one transaction where the source has transactions (one commit
    /// for a page instead of one per item); each result as `compareAndSwap` would give it.
    func compareAndSwap(_ swaps: [DataSourceSwap]) async throws -> [Bool]

    /// Puts each item back as it was backed up, whatever the row or file holds now (a restore): the
    /// tenant's row is updated, or created with only its id, tenant and that column when it is gone; a
    /// row of that id that belongs to another tenant is refused (`data-source-failure`), never
    /// overwritten. One transaction where the source has them.
    func write(_ items: [DataSourceItem], tenant: String) async throws -> [DataSourceWrite]

    /// What is wrong with the source, each finding with what to fix; an empty problem list is ready.
    func check() async -> [DataSourceFinding]

    /// Releases connections; the source is not used afterwards.
    func close() async
}

extension DataSource {
    /// One after another: a source without transactions (a directory) has nothing to group.
    public func compareAndSwap(_ swaps: [DataSourceSwap]) async throws -> [Bool] {
        var results: [Bool] = []
        for swap in swaps {
            results.append(try await compareAndSwap(id: swap.id, column: swap.column, old: swap.old, new: swap.new))
        }
        return results
    }
}

/// What `write` did to one item.
public enum DataSourceWrite: String, Sendable, Equatable, Codable {
    /// It held these bytes already.
    case unchanged
    /// It held other bytes, now replaced.
    case updated
    /// Its row or file was gone (or its column NULL) and is made anew.
    case created
}

/// One compare-and-swap of a batch.
public struct DataSourceSwap: Sendable, Equatable {
    public let id: ItemID
    public let column: String
    public let old: [UInt8]
    public let new: [UInt8]

    public init(id: ItemID, column: String, old: [UInt8], new: [UInt8]) {
        self.id = id
        self.column = column
        self.old = old
        self.new = new
    }
}

/// An item's row: an integer or text primary key, or a directory item's path below the tenant folder.
public enum ItemID: Sendable, Hashable, Codable, CustomStringConvertible {
    case integer(Int64)
    case text(String)

    public var description: String {
        switch self {
        case .integer(let value): String(value)
        case .text(let value): value
        }
    }
}

/// One ciphertext: a message column of one row, or one file.
public struct DataSourceItem: Sendable, Equatable {
    public let id: ItemID
    public let column: String
    public let ciphertext: [UInt8]

    public init(id: ItemID, column: String, ciphertext: [UInt8]) {
        self.id = id
        self.column = column
        self.ciphertext = ciphertext
    }
}

/// One page: its items, and the id of the last row read, the cursor of the next page (a row whose
/// columns are all NULL still moves it); nil when no row was left.
public struct DataSourceBatch: Sendable, Equatable {
    public let items: [DataSourceItem]
    public let last: ItemID?

    public init(items: [DataSourceItem], last: ItemID?) {
        self.items = items
        self.last = last
    }
}

/// One result of `check()`: something verified, or a problem with what to do about it.
public struct DataSourceFinding: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case ok
        case problem
    }

    public let status: Status
    /// What was looked at: `reachable`, `table`, `column body`, `index on id`, ...
    public let subject: String
    public let detail: String
    /// What the operator should change; nil for an ok finding.
    public let fix: String?

    public static func ok(_ subject: String, _ detail: String) -> DataSourceFinding {
        DataSourceFinding(status: .ok, subject: subject, detail: detail, fix: nil)
    }

    public static func problem(_ subject: String, _ detail: String, fix: String) -> DataSourceFinding {
        DataSourceFinding(status: .problem, subject: subject, detail: detail, fix: fix)
    }

    public init(status: Status, subject: String, detail: String, fix: String?) {
        self.status = status
        self.subject = subject
        self.detail = detail
        self.fix = fix
    }
}
