import ArgumentParser
import CMKKMS
import Foundation

/// How the `kms`, `probe` and `bench` commands report a `KMSError`: one line on stderr and an exit
/// code per error class (the probe's codes, so scripts see one scheme).
enum KMSCommandSupport {
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as KMSError {
            FileHandle.standardError.write(Data("cmkctl: \(error.code): \(error.message.escapingControlCharacters)\n".utf8))
            // A malformed ARN is bad input (64), not a verdict about a key.
            throw ExitCode(error.code == .invalidKeyARN ? ExitStatus.usage.rawValue : ProbeVerdict(error.code).exitCode)
        } catch let failure as CommandFailure {
            writeErrorLine(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }

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
