import ArgumentParser
import CMKKMS

/// `cmkctl kms describe KEY`: the key's metadata, as DescribeKey reports it.
struct KMSDescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe a key of the local KMS.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let kms = try local.open()
        let metadata = try await kms.describeKey(keyID: key)
        let aliases = try await kms.aliases(ofKeyID: key)
        if output.json {
            KMSCommandSupport.printJSON(KMSCommandSupport.metadataJSON(metadata, aliases: aliases))
        } else {
            print("arn:       \(metadata.arn)")
            print("state:     \(metadata.stateName)")
            print("spec:      \(metadata.keySpec) / \(metadata.keyUsage)")
            print("aliases:   \(aliases.isEmpty ? "-" : aliases.joined(separator: ", "))")
            if !metadata.description.isEmpty { print("about:     \(metadata.description.escapingControlCharacters)") }
        }
    }
}
