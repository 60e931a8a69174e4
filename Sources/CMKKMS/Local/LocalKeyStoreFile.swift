import Foundation

/// The on-disk form of the local KMS: a root secret, the keys' metadata and policies, the aliases.
///
/// Key material is not stored per key: each key's AES key is derived from the root secret and the
/// key id, so the file holds one secret to protect. The file is written whole, to a temporary file
/// created owner-only (0600) and renamed over the old one, so a crash never leaves half a file and
/// the secret is never readable by others, not even for a moment.
struct LocalKeyStoreFile: Sendable {
    struct Key: Sendable {
        var id: String
        var arn: String
        var state: KeyMetadata.State
        var description: String
        var policy: String
        var creationDate: Double
        var deletionDate: Double?
    }

    var rootSecret: [UInt8]
    var account: String
    var region: String
    var keys: [Key]
    /// `alias/name` → key id.
    var aliases: [(name: String, keyID: String)]

    static func fresh(account: String, region: String) -> LocalKeyStoreFile {
        var secret = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in secret.indices { secret[i] = rng.next() }
        return LocalKeyStoreFile(rootSecret: secret, account: account, region: region, keys: [], aliases: [])
    }

    func encoded() -> [UInt8] {
        let keyValues: [JSONValue] = keys.map { key in
            var members: [(String, JSONValue)] = [
                ("id", .string(key.id)), ("arn", .string(key.arn)), ("state", .string(key.state.rawValue)),
                ("description", .string(key.description)), ("policy", .string(key.policy)),
                ("creationDate", .number(key.creationDate)),
            ]
            if let deletion = key.deletionDate { members.append(("deletionDate", .number(deletion))) }
            return .object(members)
        }
        let document = JSONValue.object([
            ("format", .string("cmkctl-local-kms/1")),
            ("account", .string(account)),
            ("region", .string(region)),
            ("rootSecret", .string(Data(rootSecret).base64EncodedString())),
            ("keys", .array(keyValues)),
            ("aliases", .array(aliases.map { .object([("name", .string($0.name)), ("keyId", .string($0.keyID))]) })),
        ])
        return Array((document.serialized(pretty: true) + "\n").utf8)
    }

    static func decode(_ bytes: [UInt8]) throws -> LocalKeyStoreFile {
        let document = try JSONValue.parse(bytes)
        guard document["format"]?.stringValue == "cmkctl-local-kms/1",
              let secretText = document["rootSecret"]?.stringValue, let secret = Data(base64Encoded: secretText), secret.count == 32,
              let account = document["account"]?.stringValue, let region = document["region"]?.stringValue else {
            throw KMSError(.invalidRequest, "the local KMS file is not in the cmkctl-local-kms/1 format")
        }
        var keys: [Key] = []
        for value in document["keys"]?.arrayValue ?? [] {
            guard let id = value["id"]?.stringValue, let arn = value["arn"]?.stringValue,
                  let state = value["state"]?.stringValue.flatMap(KeyMetadata.State.init(rawValue:)) else {
                throw KMSError(.invalidRequest, "the local KMS file has a malformed key entry")
            }
            keys.append(Key(id: id, arn: arn, state: state, description: value["description"]?.stringValue ?? "",
                            policy: value["policy"]?.stringValue ?? "", creationDate: value["creationDate"]?.doubleValue ?? 0,
                            deletionDate: value["deletionDate"]?.doubleValue))
        }
        let aliases = (document["aliases"]?.arrayValue ?? []).compactMap { value -> (name: String, keyID: String)? in
            guard let name = value["name"]?.stringValue, let keyID = value["keyId"]?.stringValue else { return nil }
            return (name, keyID)
        }
        return LocalKeyStoreFile(rootSecret: Array(secret), account: account, region: region, keys: keys, aliases: aliases)
    }

    /// Reads the file, or `nil` when it does not exist yet.
    static func load(path: String) throws -> LocalKeyStoreFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KMSError(.denied, "cannot read the local KMS file at \(path)")
        }
        return try decode(Array(data))
    }

    /// Writes atomically with owner-only permissions.
    func save(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0o600)
        guard fd >= 0 else { throw KMSError(.denied, "cannot create \(temporary): errno \(errno)") }
        let bytes = encoded()
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                throw KMSError(.unreachable, "cannot write the local KMS file: errno \(errno)")
            }
            written += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw KMSError(.unreachable, "cannot replace the local KMS file: errno \(errno)")
        }
    }
}
