import ArgumentParser
import CMKKMS

/// Where the local KMS file lives; shared by every command that can use the local KMS.
struct LocalKMSOptions: ParsableArguments {
    @Option(name: .customLong("local-kms"), help: "Path of the local KMS file (kms create-key creates it, mode 0600; other commands only read it).")
    var path: String = LocalKMS.defaultPath

    /// Opens the file; only `createIfMissing` (kms create-key) may make a new one.
    func open(createIfMissing: Bool = false) throws -> LocalKMS {
        try LocalKMS(path: path, createIfMissing: createIfMissing)
    }
}
