import ArgumentParser
import CMKEnvelope
import CMKKMS

/// `cmkctl probe --key ARN --context K=V`: checks that each key works the way cmkctl uses it, and
/// exits with the verdict's code.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check KMS keys: DescribeKey, a data key round trip with the context, and a wrong-context refusal.",
        discussion: "Exit codes: 0 ok; the key's owner: 10 denied, 11 disabled, 12 not-found, 13 unsuitable-key; transient: 14 throttled, 15 unreachable, 16 key-unavailable; 78 misconfigured (cmkctl's own setup: credentials, the local KMS file, an endpoint)."
    )

    @Option(name: .customLong("key"), help: "aws-kms:ARN, local:ALIAS-OR-ARN, or a bare key ARN (repeatable).")
    var keys: [String]

    @Option(name: .customLong("context"), help: "Encryption context pair KEY=VALUE (repeatable).")
    var contextPairs: [String] = []

    @OptionGroup var output: OutputOptions

    @OptionGroup var kms: KMSClientOptions

    func validate() throws {
        guard !keys.isEmpty else { throw ValidationError("give at least one --key") }
        _ = try parsedContext()
        _ = try specs()
    }

    /// The `--context` pairs, held to strict UTF-8 as encrypt and decrypt hold theirs (exit 64).
    func parsedContext() throws -> EncryptionContext {
        try ContextArguments.context(pairs: contextPairs, file: nil)
    }

    func specs() throws -> [KMSKeySpec] {
        try keys.map { text in
            do {
                if let spec = try KMSKeySpec(parsing: text) { return spec }
                if let spec = try KMSKeySpec(parsing: KMSKeySpec.awsPrefix + text) { return spec }
            } catch let error as KMSError {
                throw ValidationError(error.message)
            }
            throw ValidationError("\(text): not a key spec")
        }
    }

    func run() async throws {
        let context = try parsedContext()
        let specs = try specs()
        let report = try await kms.withClients { factory in
            var results: [ProbeResult] = []
            for spec in specs {
                do {
                    let (client, keyID) = try factory.client(for: spec)
                    results.append(await KeyProbe(client: client).probe(keyID: keyID, context: context))
                } catch let error as KMSError {
                    results.append(ProbeResult(keyID: "\(spec)", region: "-", metadata: nil,
                                               steps: [.init(name: "setup", failure: ProbeVerdict(error.code), code: error.code, latency: nil, detail: error.message)]))
                }
            }
            return ProbeReport(results: results)
        }
        if output.json {
            print(report.json.prettyText)
        } else {
            print(report.table(), terminator: "")
        }
        if report.verdict != .ok { throw ExitCode(report.verdict.exitCode) }
    }
}
