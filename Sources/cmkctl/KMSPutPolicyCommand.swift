import ArgumentParser
import CMKKMS
import Foundation

/// `cmkctl kms put-policy KEY --policy-file FILE`: replaces the key policy; its Deny statements are
/// enforced by the local KMS.
struct KMSPutPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put-policy", abstract: "Replace a key's policy document.")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @Option(name: .customLong("policy-file"), help: "Policy document (JSON); - reads standard input.") var policyFile: String

    func run() async throws {
        let policy = try KMSCommandSupport.readPolicy(policyFile)
        try await local.open().putKeyPolicy(keyID: key, policy: policy)
        print("policy updated")
    }
}
