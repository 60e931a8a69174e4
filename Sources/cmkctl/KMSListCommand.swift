import ArgumentParser
import CMKKMS

/// `cmkctl kms list`: every key with its state and aliases.
struct KMSListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the keys of the local KMS.")

    @OptionGroup var local: LocalKMSOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let keys = try await local.open().listKeys()
        if output.json {
            KMSCommandSupport.printJSON(["keys": .array(keys.map { KMSCommandSupport.metadataJSON($0.metadata, aliases: $0.aliases) })])
            return
        }
        for key in keys {
            let aliases = key.aliases.isEmpty ? "-" : key.aliases.joined(separator: ",")
            print("\(key.metadata.arn)  \(key.metadata.stateName)  \(aliases)".escapingControlCharacters)
        }
    }
}
