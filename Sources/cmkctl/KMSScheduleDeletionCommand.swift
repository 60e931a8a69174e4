import ArgumentParser
import CMKKMS

/// `cmkctl kms schedule-deletion KEY`: the key goes to PendingDeletion (unusable) and is deleted
/// after the window unless the deletion is cancelled.
struct KMSScheduleDeletionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedule-deletion", abstract: "Schedule a key's deletion (7 to 30 days).")

    @OptionGroup var local: LocalKMSOptions
    @Argument(help: "Key ARN, key id or alias.") var key: String
    @OptionGroup var output: OutputOptions
    @Option(help: "Days before the key is deleted (7-30).") var days: Int = 30

    func validate() throws {
        try OptionRange("--days", 7...30, "days").check(days)
    }

    func run() async throws {
        let kms = try local.open()
        let when = try await kms.scheduleKeyDeletion(keyID: key, pendingWindowInDays: days)
        let metadata = try await kms.describeKey(keyID: key)
        if output.json {
            try await KMSCommandSupport.report(metadata, from: kms, json: true)
        } else {
            print("\(metadata.arn)  \(metadata.stateName)  deletion at \(Int64(when ?? 0)) (epoch seconds)")
        }
    }
}
