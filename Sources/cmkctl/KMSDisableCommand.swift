import ArgumentParser
import CMKKMS

/// `cmkctl kms disable KEY`: every use of the key fails with `disabled` until it is enabled again,
/// which is how an operator revokes a tenant locally.
struct KMSDisableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable a key: every use fails with `disabled` until it is enabled.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let kms = try local.open()
        try await kms.disableKey(keyID: key)
        let metadata = try await kms.describeKey(keyID: key)
        try await KMSCommandSupport.report(metadata, from: kms, json: output.json)
    }
}
