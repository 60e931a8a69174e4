import CMKEnvelope
import Foundation

/// One line of the backup catalogue: a tenant's backup file, or a scheduled backup that was skipped.
public struct BackupEntry: Sendable, Equatable, Codable {
    /// Whether a backup can be restored.
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// The file is there and its generation may still restore it.
        case available
        /// A re-encryption moved the tenant past the backup's generation: never restored again.
        case disabled
        /// A scheduled backup the lifecycle refused (re-encrypting, suspended); no file.
        case skipped
    }

    public let id: String
    public let tenant: String
    /// The key generation the file was encrypted under (for a skipped one: the tenant's generation then).
    public let generation: Int
    public let createdAt: Date
    /// JSON lines (items) in the file.
    public let items: Int
    /// The file's size.
    public let bytes: Int64
    /// Hex SHA-256 of the file, checked before a restore; nil for a skipped backup.
    public let sha256: String?
    /// The file's path below the backup directory; nil for a skipped backup.
    public let fileName: String?
    public var status: Status
    /// Why the backup was skipped or disabled.
    public var reason: String?

    public init(id: String, tenant: String, generation: Int, createdAt: Date, items: Int, bytes: Int64, sha256: String?,
                fileName: String?, status: Status, reason: String?) {
        self.id = id
        self.tenant = tenant
        self.generation = generation
        self.createdAt = createdAt
        self.items = items
        self.bytes = bytes
        self.sha256 = sha256
        self.fileName = fileName
        self.status = status
        self.reason = reason
    }

    /// A new backup id: `bk-` and the UTC time to the second, then random hex, so ids sort by time and
    /// are safe as file names.
    public static func newID(at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let random = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return "bk-" + formatter.string(from: date) + "-" + random
    }

    /// Accepts what `newID` makes (and nothing that could leave the backup directory).
    public static func checkID(_ id: String) throws {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
        }
        guard id.hasPrefix("bk-"), (4...64).contains(id.utf8.count), allowed else {
            throw TenantError(.invalidInput, "\(id.escapingControlCharacters.prefix(80)) is not a backup id (bk-YYYYMMDDTHHMMSSZ-XXXXXXXX, as `cmkctl backups` lists them)")
        }
    }
}
