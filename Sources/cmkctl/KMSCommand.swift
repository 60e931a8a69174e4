import ArgumentParser

/// `cmkctl kms ...`: manage keys in the local file-backed KMS.
struct KMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms",
        abstract: "Manage keys in the local file-backed KMS (the embedded default).",
        subcommands: [
            KMSCreateKeyCommand.self,
            KMSListCommand.self,
            KMSDescribeCommand.self,
            KMSDisableCommand.self,
            KMSEnableCommand.self,
            KMSScheduleDeletionCommand.self,
            KMSCancelDeletionCommand.self,
            KMSGetPolicyCommand.self,
            KMSPutPolicyCommand.self,
        ]
    )
}
