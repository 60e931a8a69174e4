import ArgumentParser
import CMKKMS

/// `cmkctl kms get-policy KEY`: prints the key policy document.
struct KMSGetPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-policy", abstract: "Print a key's policy document.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String

    func run() async throws {
        print(try await local.open().getKeyPolicy(keyID: key))
    }
}
