import ArgumentParser
import CMKEnvelope
import Foundation

struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt an AWS Encryption SDK message.",
        discussion: """
        Reads a message from --input (default stdin) and writes the plaintext to --output (default \
        stdout). Every --context pair must be in the message's context. Plaintext is only ever taken \
        from frames whose authentication tag verified. With a file --output nothing appears at the \
        path unless the whole message, including a signed message's signature, verified. On stdout, \
        frames are written as they verify; a failure later in the message (a truncated or re-signed \
        message) is reported by the exit status, unless --verify-before-output holds everything back \
        until the end.
        Exit status: 0 decrypted, 65 the message could not be decrypted (malformed, tampered, wrong \
        key or context), 64 bad arguments, 66 unreadable input, 69 key failure, 73 output failure, \
        78 refused by the commitment policy.
        """)

    @OptionGroup var envelope: EnvelopeOptions

    @Option(name: .long, help: "Message file; '-' or absent for stdin.")
    var input: String?

    @Option(name: .long, help: "Plaintext file; '-' or absent for stdout.")
    var output: String?

    @Flag(name: .customLong("verify-before-output"), help: "On stdout, hold all plaintext back until the whole message (and its signature) verified.")
    var verifyBeforeOutput = false

    func run() async throws {
        try await reportingFailures { try await envelope.kms.withClients { kms in
            let keyring = try await KeySpec.keyring(for: envelope.keySpecs(), kms: kms)
            let source = try ChunkedInput(path: input)
            let toStdout = output == nil || output == "-"
            // Holding back on stdout spools through a private temporary file, so memory stays small.
            let spool = toStdout && verifyBeforeOutput
                ? FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-\(UUID().uuidString).plain").path
                : nil
            let sink = try AtomicOutput(path: spool ?? output)
            var decryptor = MessageDecryptor(keyring: keyring, requiredContext: try envelope.encryptionContext(),
                                             configuration: envelope.configuration())
            var ready: [UInt8] = []
            ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
            while let chunk = try source.next() {
                ready.removeAll(keepingCapacity: true)
                try await decryptor.update(chunk, into: &ready)
                try sink.write(ready)
            }
            try sink.write(try decryptor.finish())
            try sink.commit()
            if let spool {
                defer { unlink(spool) }
                let replay = try ChunkedInput(path: spool)
                while let chunk = try replay.next() {
                    FileHandle.standardOutput.write(Data(chunk))
                }
            }
        } }
    }
}
