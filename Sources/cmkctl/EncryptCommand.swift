import ArgumentParser
import CMKEnvelope
import CMKKMS
import CMKTenant
import Foundation

struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt a stream into an AWS Encryption SDK message.",
        discussion: """
        Reads plaintext from --input (default stdin) and writes one message to --output (default \
        stdout), frame by frame, so memory stays small whatever the size. Any AWS Encryption SDK \
        decrypts the result with the same wrapping key and context. A regular --output file appears \
        only when the whole message was written (a hidden temporary file beside it, mode 0600, is \
        renamed into place); a special file (/dev/stdout, a FIFO) is written as a stream. An output \
        that cannot be written (a directory, a missing directory, no permission) is an error.
        With --tenant ID instead of --key, the message is written for a tenant of the store (--store): \
        under its current key generation, wrapped in every region of it that answers (--min-regions), \
        with the tenant's pair {contextKey: identifier} from the operator configuration (--config) \
        bound into the context; a --context pair with that key is refused. A suspended or offboarded \
        tenant is refused.
        Exit status: 0 encrypted, 64 bad arguments, 66 unreadable input or key file, 10-16 the KMS refused \
        the key (the probe's verdicts), 69 no keyring produced a data key, 73 output failure, 78 refused by \
        the commitment policy or the operator's KMS setup; with --tenant also 67 unknown tenant, 74 store \
        failure, 77 a suspended or offboarded tenant. --verbose (or \
        CMKCTL_LOG_LEVEL=debug) logs details on stderr.
        """)

    @Option(name: .long, help: ArgumentHelp("Wrapping key, repeatable: \(KeySpec.help). The first generates the data key; every key wraps it (one encrypted data key each).", valueName: "spec"))
    var key: [String] = []

    @OptionGroup var envelope: EnvelopeOptions

    @OptionGroup var tenantOptions: TenantCryptoOptions

    @Option(name: .long, help: "Plaintext file; '-' or absent for stdin.")
    var input: String?

    @Option(name: .long, help: "Message file; '-' or absent for stdout.")
    var output: String?

    @Option(name: .long, help: "Algorithm suite: 0478 (default, committing) or 0578 (committing, ECDSA P-384 signed).")
    var suite: String = "0478"

    @Option(name: .customLong("frame-length"), help: "Plaintext bytes per frame, 1 to 4294967295.")
    var frameLength: UInt32 = EnvelopeConfiguration.defaultFrameLength

    @Option(name: .customLong("min-regions"), help: "With aws-kms keys in several regions: fail unless this many regions wrapped the data key (1 to 64).")
    var minimumRegions: Int = 1

    func validate() throws {
        try tenantOptions.validate(keys: key, kms: envelope.kms)
        guard let parsed = AlgorithmSuite(parsing: suite), parsed.messageFormatVersion == 2 else {
            throw ValidationError("--suite \(suite): encrypt writes 0478 or 0578")
        }
        guard frameLength >= 1 else { throw ValidationError("--frame-length must be between 1 and 4294967295") }
        try OptionLimits.minimumRegions.check(minimumRegions)
    }

    func run() async throws {
        // Everything the user typed is checked, and the output opened, before any key is used.
        let context = try envelope.encryptionContext()
        let specs = try key.map { try KeySpec(parsing: $0) }
        let source = try ChunkedInput(path: input)
        let sink = try CommandOutput(path: output)
        if let tenant = tenantOptions.tenant {
            try await tenantOptions.withTenantStore(profile: envelope.kms.profile, timeoutSeconds: envelope.kms.timeoutSeconds) { operatorConfiguration, kms, store in
                try await encrypt(tenant: tenant, context: context, source: source, sink: sink, store: store,
                                  operatorConfiguration: operatorConfiguration, kms: kms)
            }
            return
        }
        try await envelope.kms.withClients(minimumRegions: minimumRegions) { kms in
            let keyring = try await KeySpec.keyring(for: specs, kms: kms)
            let configuration = envelope.configuration(suite: AlgorithmSuite(parsing: suite)!, frameLength: frameLength)
            var encryptor = try await MessageEncryptor(keyring: keyring, encryptionContext: context, configuration: configuration)
            var ready: [UInt8] = []
            ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
            while let chunk = try source.next() {
                ready.removeAll(keepingCapacity: true)
                try encryptor.update(chunk, into: &ready)
                try sink.write(ready)
            }
            try sink.write(try encryptor.finish())
            try sink.commit()
        }
    }

    /// Streams the input into a message for `tenant`; generic over the store so the tenant crypto
    /// works on the backend's own repository type.
    private func encrypt<Store: StoreBackend>(tenant: String, context: EncryptionContext, source: ChunkedInput, sink: CommandOutput,
                                             store: Store, operatorConfiguration: OperatorConfiguration, kms: TenantKMS) async throws {
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: operatorConfiguration, kms: kms,
                                      configuration: cryptoConfiguration())
        // The size is not known ahead of a stream: the message gets a data key of its own.
        var encryptor = try await crypto.encryptor(tenant: tenant, context: context, plaintextLength: nil)
        var ready: [UInt8] = []
        ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
        while let chunk = try source.next() {
            ready.removeAll(keepingCapacity: true)
            try encryptor.update(chunk, into: &ready)
            try sink.write(ready)
        }
        try sink.write(try encryptor.finish())
        try sink.commit()
    }

    private func cryptoConfiguration() -> TenantCryptoConfiguration {
        let timeout = Duration.milliseconds(Int64((envelope.kms.timeoutSeconds * 1000).rounded()))
        return TenantCryptoConfiguration(
            envelope: envelope.configuration(suite: AlgorithmSuite(parsing: suite)!, frameLength: frameLength),
            multiRegion: MultiRegionKeyring.Configuration(minimumRegions: minimumRegions, wrapTimeout: timeout))
    }
}
