import ArgumentParser
import CMKKMS

/// `cmkctl kms create-key`: a new symmetric key, optionally with an alias and a policy.
struct KMSCreateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-key", abstract: "Create a symmetric key in the local KMS.")

    @OptionGroup var local: LocalKMSOptions
    @Option(help: "Alias for the key (alias/ is added when missing): letters, digits, '/', '_', '-'; not aws/.") var alias: String?
    @Option(help: "Description stored with the key.") var description: String = ""
    @Option(name: .customLong("policy-file"), help: "Key policy document (JSON) to use instead of the default.") var policyFile: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard let alias else { return }
        do { _ = try AliasName.normalized(alias) } catch let error as KMSError { throw ValidationError("--alias \(alias): \(error.message)") }
    }

    func run() async throws {
        let kms = try local.open(createIfMissing: true)
        let policy = try policyFile.map(KMSCommandSupport.readPolicy)
        let metadata = try await kms.createKey(description: description, policy: policy, alias: alias)
        let aliases = try await kms.aliases(ofKeyID: metadata.arn)
        if output.json {
            KMSCommandSupport.printJSON(KMSCommandSupport.metadataJSON(metadata, aliases: aliases))
        } else {
            print(metadata.arn)
        }
    }
}
