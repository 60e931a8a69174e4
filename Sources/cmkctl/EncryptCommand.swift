import ArgumentParser
import CMKEnvelope
import Foundation

struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt a stream into an AWS Encryption SDK message.",
        discussion: """
        Reads plaintext from --input (default stdin) and writes one message to --output (default \
        stdout), frame by frame, so memory stays small whatever the size. Any AWS Encryption SDK \
        decrypts the result with the same wrapping key and context. A file --output appears only \
        when the whole message was written.
        """)

    @OptionGroup var envelope: EnvelopeOptions

    @Option(name: .long, help: "Plaintext file; '-' or absent for stdin.")
    var input: String?

    @Option(name: .long, help: "Message file; '-' or absent for stdout.")
    var output: String?

    @Option(name: .long, help: "Algorithm suite: 0478 (default, committing) or 0578 (committing, ECDSA P-384 signed).")
    var suite: String = "0478"

    @Option(name: .customLong("frame-length"), help: "Plaintext bytes per frame, 1 to 4294967295.")
    var frameLength: UInt32 = EnvelopeConfiguration.defaultFrameLength

    func validate() throws {
        guard let parsed = AlgorithmSuite(parsing: suite), parsed.messageFormatVersion == 2 else {
            throw ValidationError("--suite \(suite): encrypt writes 0478 or 0578")
        }
        guard frameLength >= 1 else { throw ValidationError("--frame-length must be between 1 and 4294967295") }
    }

    func run() async throws {
        try await reportingFailures { try await envelope.kms.withClients { kms in
            let keyring = try await KeySpec.keyring(for: envelope.keySpecs(), kms: kms)
            let configuration = envelope.configuration(suite: AlgorithmSuite(parsing: suite)!, frameLength: frameLength)
            let source = try ChunkedInput(path: input)
            let sink = try AtomicOutput(path: output)
            var encryptor = try await MessageEncryptor(keyring: keyring, encryptionContext: envelope.encryptionContext(),
                                                       configuration: configuration)
            var ready: [UInt8] = []
            ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
            while let chunk = try source.next() {
                ready.removeAll(keepingCapacity: true)
                try encryptor.update(chunk, into: &ready)
                try sink.write(ready)
            }
            try sink.write(try encryptor.finish())
            try sink.commit()
        } }
    }
}
