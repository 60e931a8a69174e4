import ArgumentParser
import CMKKMS

/// Where the local KMS file lives; shared by every command that can use the local KMS.
struct LocalKMSOptions: ParsableArguments {
    @Option(name: .customLong("local-kms"), help: "Path of the local KMS file (created on first use, mode 0600).")
    var path: String = LocalKMS.defaultPath

    func open() throws -> LocalKMS {
        try LocalKMS(path: path)
    }
}
