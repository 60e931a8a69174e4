import ArgumentParser
import CMKKMS

/// `cmkctl kms cancel-deletion KEY`: Cancel a scheduled deletion; the key is left disabled, as in AWS.
struct KMSCancelDeletionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel-deletion", abstract: "Cancel a scheduled deletion; the key is left disabled, as in AWS.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let kms = try local.open()
        try await kms.cancelKeyDeletion(keyID: key)
        let metadata = try await kms.describeKey(keyID: key)
        try await KMSCommandSupport.report(metadata, from: kms, json: output.json)
    }
}
