import ArgumentParser
import CMKKMS

/// `cmkctl kms enable KEY`: Enable a disabled key.
struct KMSEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a disabled key.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let kms = try local.open()
        try await kms.enableKey(keyID: key)
        let metadata = try await kms.describeKey(keyID: key)
        try await KMSCommandSupport.report(metadata, from: kms, json: output.json)
    }
}
