import CMKEnvelope
import Foundation

/// A directory tree of message files: every regular file under `<path>/<tenant>/`, at any depth, is
/// one item whose id is its path below `<path>` (`acme/2026/invoice-17.msg`).
///
/// Pages list the tenant's folder and sort by the ids' UTF-8 bytes, so a sweep's cursor stays valid
/// while files are added. Compare-and-swap compares the file's bytes with the old ciphertext, then
/// renames a new file over it, so a reader sees the old message or the new one, never a mix. The
/// compare and the rename are two steps: an application that rewrites the file in between loses that
/// write, which an application writing files in place (without its own renames) risks anyway.
public struct DirectoryDataSource: DataSource {
    public let configuration: DataSourceConfiguration
    public let root: String

    /// The one column name of a directory item.
    public static let column = "file"
    /// Temporary files of an unfinished swap; never items.
    static let temporaryPrefix = ".cmkctl-swap-"

    public init(configuration: DataSourceConfiguration) throws {
        guard case .directory(let path) = configuration.location else {
            throw TenantError(.configuration, "data source \(configuration.name) is not a directory source")
        }
        self.configuration = configuration
        self.root = path
    }

    public func batch(tenant: String, after cursor: ItemID?, limit: Int) async throws -> DataSourceBatch {
        try EnrollmentRequest.checkTenantID(tenant)
        guard limit > 0 else { throw TenantError(.invalidInput, "a batch needs a limit of at least 1") }
        let folder = root + "/" + tenant
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            return DataSourceBatch(items: [], last: nil)
        }
        let after = cursor.map { Array($0.description.utf8) }
        var ids: [String] = []
        guard let walk = FileManager.default.enumerator(atPath: folder) else {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot list \(folder)")
        }
        while let relative = walk.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard walk.fileAttributes?[.type] as? FileAttributeType == .typeRegular, !name.hasPrefix(Self.temporaryPrefix) else { continue }
            let id = tenant + "/" + relative
            if let after, !Self.precedes(after, Array(id.utf8)) { continue }
            ids.append(id)
        }
        ids.sort { Self.precedes(Array($0.utf8), Array($1.utf8)) }
        var items: [DataSourceItem] = []
        var last: ItemID?
        for id in ids.prefix(limit) {
            last = .text(id)
            // A file removed since the listing is simply no longer an item.
            if let bytes = try read(id) {
                items.append(DataSourceItem(id: .text(id), column: Self.column, ciphertext: bytes))
            }
        }
        return DataSourceBatch(items: items, last: last)
    }

    public func item(id: ItemID, column: String) async throws -> [UInt8]? {
        try read(try path(of: id, column: column))
    }

    public func compareAndSwap(id: ItemID, column: String, old: [UInt8], new: [UInt8]) async throws -> Bool {
        let file = try path(of: id, column: column)
        guard let current = try read(file), current == old else { return false }
        let url = URL(fileURLWithPath: root + "/" + file)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(Self.temporaryPrefix + UUID().uuidString)
        do {
            try Data(new).write(to: temporary)
            if let permissions = try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] {
                try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: temporary.path)
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot replace \(file): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? TenantError { throw error }
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot write \(file): \(ErrorSentence.reason(error))")
        }
        return true
    }

    /// Each file through a temporary file and a rename, as a swap writes it; missing folders are made.
    public func write(_ items: [DataSourceItem], tenant: String) async throws -> [DataSourceWrite] {
        try EnrollmentRequest.checkTenantID(tenant)
        var results: [DataSourceWrite] = []
        for item in items {
            let file = try path(of: item.id, column: item.column)
            guard file.hasPrefix(tenant + "/") else {
                throw TenantError(.invalidInput, "data source \(configuration.name): \(DisplayText.quoted(file, limit: 120)) is not an item of tenant \(tenant)")
            }
            let current = try read(file)
            if current == item.ciphertext {
                results.append(.unchanged)
                continue
            }
            let url = URL(fileURLWithPath: root + "/" + file)
            let temporary = url.deletingLastPathComponent().appendingPathComponent(Self.temporaryPrefix + UUID().uuidString)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(item.ciphertext).write(to: temporary)
                guard rename(temporary.path, url.path) == 0 else {
                    throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot replace \(file): \(String(cString: strerror(errno)))")
                }
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                if let error = error as? TenantError { throw error }
                throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot write \(file): \(ErrorSentence.reason(error))")
            }
            results.append(current == nil ? .created : .updated)
        }
        return results
    }

    public func check() async -> [DataSourceFinding] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            return [.problem("reachable", "\(root) does not exist", fix: "create the directory or correct \"path\" (relative paths start at the configuration file's folder)")]
        }
        guard isDirectory.boolValue else {
            return [.problem("reachable", "\(root) is not a directory", fix: "point \"path\" at the folder that holds one folder per tenant")]
        }
        var findings: [DataSourceFinding] = [.ok("reachable", "\(root) is a directory")]
        let manager = FileManager.default
        if manager.isReadableFile(atPath: root) && manager.isWritableFile(atPath: root) && manager.isExecutableFile(atPath: root) {
            findings.append(.ok("permissions", "readable and writable"))
        } else {
            findings.append(.problem("permissions", "\(root) is not readable and writable by this user",
                                     fix: "give the user cmkctl runs as read, write and search permission on the tree"))
        }
        let tenants = (try? manager.contentsOfDirectory(atPath: root).filter { name in
            var folder: ObjCBool = false
            return manager.fileExists(atPath: root + "/" + name, isDirectory: &folder) && folder.boolValue
        }) ?? []
        findings.append(.ok("layout", "\(tenants.count) tenant folder\(tenants.count == 1 ? "" : "s")"))
        return findings
    }

    public func close() async {}

    /// The file below the root an id names; ids that would leave the root are refused.
    private func path(of id: ItemID, column: String) throws -> String {
        guard column == Self.column, case .text(let path) = id, !path.hasPrefix("/"),
              !path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw TenantError(.invalidInput, "data source \(configuration.name): \(DisplayText.quoted(id.description, limit: 120)) is not an item of a directory source")
        }
        return path
    }

    private func read(_ file: String) throws -> [UInt8]? {
        let full = root + "/" + file
        guard FileManager.default.fileExists(atPath: full) else { return nil }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: full)))
        } catch {
            if !FileManager.default.fileExists(atPath: full) { return nil }
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot read \(file): \(ErrorSentence.reason(error))")
        }
    }

    /// Byte order of UTF-8, the order of ids and cursors.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}
