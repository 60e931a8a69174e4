import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk form of the local KMS: a root secret, the keys' metadata and policies, the aliases.
///
/// Key material is not stored per key: each key's AES key is derived from the root secret and the
/// key id, so the file holds one secret to protect. The file is written whole, to a temporary file
/// created owner-only (0600) and renamed over the old one, so a crash never leaves half a file and
/// the secret is never readable by others, not even for a moment. A file that group or others may
/// open is refused (as ssh refuses a private key), with the `chmod` that fixes it.
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
    /// Keys deleted after their waiting period, and their aliases: asked for again they are
    /// `notFound` (a revocation), unlike a key this file never held.
    var deletedKeyIDs: [String] = []
    var deletedAliases: [String] = []

    static func fresh(account: String, region: String) -> LocalKeyStoreFile {
        var secret = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in secret.indices { secret[i] = rng.next() }
        return LocalKeyStoreFile(rootSecret: secret, account: account, region: region, keys: [], aliases: [])
    }

    func encoded() -> [UInt8] {
        let keyValues: [JSONValue] = keys.map { key in
            var members: JSONObject = [
                "id": .string(key.id), "arn": .string(key.arn), "state": .string(key.state.rawValue),
                "description": .string(key.description), "policy": .string(key.policy),
                "creationDate": .number(key.creationDate),
            ]
            if let deletion = key.deletionDate { members["deletionDate"] = .number(deletion) }
            return .object(members)
        }
        let document: JSONValue = [
            "format": "cmkctl-local-kms/1",
            "account": .string(account),
            "region": .string(region),
            "rootSecret": .string(Data(rootSecret).base64EncodedString()),
            "keys": .array(keyValues),
            "aliases": .array(aliases.map { ["name": .string($0.name), "keyId": .string($0.keyID)] }),
            "deletedKeyIds": .array(deletedKeyIDs.map { .string($0) }),
            "deletedAliases": .array(deletedAliases.map { .string($0) }),
        ]
        return Array((document.prettyText + "\n").utf8)
    }

    /// Parses the file's bytes; a failure says what is wrong, the caller adds which file.
    static func decode(_ bytes: [UInt8]) throws -> LocalKeyStoreFile {
        guard let document = try? JSONValue(utf8: bytes, limits: .shallow) else {
            throw KMSError(.misconfigured, "it is not JSON")
        }
        guard document["format"]?.stringValue == "cmkctl-local-kms/1",
              let secretText = document["rootSecret"]?.stringValue, let secret = Data(base64Encoded: secretText), secret.count == 32,
              let account = document["account"]?.stringValue, let region = document["region"]?.stringValue else {
            throw KMSError(.misconfigured, "it is not in the cmkctl-local-kms/1 format")
        }
        var keys: [Key] = []
        for value in document["keys"]?.arrayValue ?? [] {
            guard let id = value["id"]?.stringValue, let arn = value["arn"]?.stringValue,
                  let state = value["state"]?.stringValue.flatMap(KeyMetadata.State.init(rawValue:)) else {
                throw KMSError(.misconfigured, "it has a malformed key entry")
            }
            keys.append(Key(id: id, arn: arn, state: state, description: value["description"]?.stringValue ?? "",
                            policy: value["policy"]?.stringValue ?? "", creationDate: value["creationDate"]?.numberValue ?? 0,
                            deletionDate: value["deletionDate"]?.numberValue))
        }
        let aliases = (document["aliases"]?.arrayValue ?? []).compactMap { value -> (name: String, keyID: String)? in
            guard let name = value["name"]?.stringValue, let keyID = value["keyId"]?.stringValue else { return nil }
            return (name, keyID)
        }
        var file = LocalKeyStoreFile(rootSecret: Array(secret), account: account, region: region, keys: keys, aliases: aliases)
        file.deletedKeyIDs = (document["deletedKeyIds"]?.arrayValue ?? []).compactMap(\.stringValue)
        file.deletedAliases = (document["deletedAliases"]?.arrayValue ?? []).compactMap(\.stringValue)
        return file
    }

    /// Reads the file, or `nil` when it does not exist yet; every other problem is `misconfigured`
    /// and names the file.
    static func load(path: String) throws -> LocalKeyStoreFile? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw KMSError(.misconfigured, "cannot read the local KMS file \(displayPath(path)): \(lastError())")
        }
        guard Int(info.st_mode) & Int(S_IFMT) == Int(S_IFREG) else {
            throw KMSError(.misconfigured, "the local KMS file \(displayPath(path)) is not a regular file")
        }
        let access = Int(info.st_mode) & 0o777
        guard access & 0o077 == 0 else {
            throw KMSError(.misconfigured, "the local KMS file \(displayPath(path)) may be opened by others (mode \(String(access, radix: 8))), "
                + "and it holds the root secret of every local key: run `chmod 600 \(displayPath(path))`")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KMSError(.misconfigured, "cannot read the local KMS file \(displayPath(path)): \(lastError())")
        }
        do {
            return try decode(Array(data))
        } catch let error as KMSError {
            throw KMSError(.misconfigured, "the local KMS file \(displayPath(path)) cannot be used: \(error.message)")
        }
    }

    /// The missing directories above `path`, each made owner-only (0700): the file's name and its
    /// neighbours are nobody else's business.
    static func createPrivateDirectories(for path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        var missing: [String] = []
        var current = directory
        var isDirectory: ObjCBool = false
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current, isDirectory: &isDirectory) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for created in missing.reversed() {
            guard mkdir(created, 0o700) == 0 || errno == EEXIST else {
                throw KMSError(.misconfigured, "cannot create the directory \(displayPath(created)) for the local KMS file: \(lastError())")
            }
            // mkdir's mode passes through the umask, which may only take bits away; make it exact.
            chmod(created, 0o700)
        }
    }

    /// The path as an absolute one, so a message says which file was read whatever the directory.
    static func displayPath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }

    /// Writes atomically with owner-only permissions.
    func save(path: String) throws {
        try Self.createPrivateDirectories(for: path)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KMSError(.misconfigured, "cannot create \(Self.displayPath(temporary)): \(Self.lastError())") }
        let bytes = encoded()
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                throw KMSError(.misconfigured, "cannot write the local KMS file \(Self.displayPath(path)): \(Self.lastError())")
            }
            written += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw KMSError(.misconfigured, "cannot replace the local KMS file \(Self.displayPath(path)): \(Self.lastError())")
        }
    }
}
