import ArgumentParser
import CMKKMS
import Foundation

/// What the `kms` commands share.
enum KMSCommandSupport {
    /// A key policy document from a file (`-`: standard input), read no further than the 32 KB limit.
    static func readPolicy(_ path: String) throws -> String {
        let name = path == "-" ? "standard input" : path
        guard let data = try BoundedInput.read(path, limit: KeyPolicyLimit.maxBytes) else {
            throw CommandFailure(status: .dataError, message: "\(name): \(KeyPolicyLimit.overLimit)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(status: .dataError, message: "\(name): not UTF-8 text")
        }
        return text
    }

    /// A key after a state change: its ARN and state, or with `json` its whole metadata.
    static func report(_ metadata: KeyMetadata, from kms: LocalKMS, json: Bool) async throws {
        if json {
            printJSON(metadataJSON(metadata, aliases: try await kms.aliases(ofKeyID: metadata.arn)))
        } else {
            print("\(metadata.arn)  \(metadata.stateName)")
        }
    }

    static func printJSON(_ value: JSONValue) {
        print(value.prettyText)
    }

    static func metadataJSON(_ metadata: KeyMetadata, aliases: [String]) -> JSONValue {
        var members: JSONObject = [
            "arn": .string(metadata.arn),
            "keyId": .string(metadata.keyID),
            "state": .string(metadata.stateName),
            "keySpec": .string(metadata.keySpec),
            "keyUsage": .string(metadata.keyUsage),
            "description": .string(metadata.description),
            "aliases": .array(aliases.map { .string($0) }),
        ]
        if let deletion = metadata.deletionDate { members["deletionDate"] = .number(deletion) }
        return .object(members)
    }
}
