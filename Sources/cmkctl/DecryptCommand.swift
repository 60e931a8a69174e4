import ArgumentParser
import CMKEnvelope
import CMKKMS
import CMKTenant
import Foundation

struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt an AWS Encryption SDK message.",
        discussion: """
        Reads a message from --input (default stdin) and writes the plaintext to --output (default \
        stdout). Every --context pair must be in the message's context. Plaintext is only ever taken \
        from frames whose authentication tag verified.
        What is released before the whole message verified: with a regular --output file, nothing \
        (a hidden temporary file beside it, mode 0600, is renamed into place only after the whole \
        message, a signed message's signature included, verified). With a special --output file \
        (/dev/stdout, a FIFO, a device), a signed message (suite 0578) is held back in a private \
        temporary file until its signature verified; an unsigned message is streamed frame by frame. \
        On stdout, frames are written as they verify, signed or not; a failure later in the message \
        (a truncated or re-signed message) is reported only by the exit status, unless \
        --verify-before-output holds everything back until the end. An output that cannot be written \
        (a directory, a missing directory, no permission) is an error and nothing is written.
        Exit status: 0 decrypted, 65 the message could not be decrypted (malformed, tampered, wrong \
        key or context), 64 bad arguments, 66 unreadable input, 10-16 the KMS refused the key (the \
        probe's verdicts), 69 no keyring unwrapped the data key, 73 output failure, 78 refused by the \
        commitment policy. The precise reason a message could not be decrypted is \
        logged on stderr with --verbose (or CMKCTL_LOG_LEVEL=debug).
        With --tenant ID instead of --key, the message must be one of that tenant (--store): written under \
        any key generation the tenant still has, with the tenant's pair {contextKey: identifier} from the \
        operator configuration (--config) in its context. A message of another tenant fails like a \
        damaged one (65), before any KMS call; a suspended or offboarded tenant is refused (77); an \
        unknown one is 67; a store that cannot be opened 74.
        """)

    @Option(name: .long, help: ArgumentHelp("Wrapping key, repeatable: \(KeySpec.help). Any one of them that wrapped the message's data key unwraps it.", valueName: "spec"))
    var key: [String] = []

    @OptionGroup var envelope: EnvelopeOptions

    @OptionGroup var tenantOptions: TenantCryptoOptions

    @Option(name: .long, help: "Message file; '-' or absent for stdin.")
    var input: String?

    @Option(name: .long, help: "Plaintext file; '-' or absent for stdout.")
    var output: String?

    @Flag(name: .customLong("verify-before-output"), help: "On stdout or a special file, hold all plaintext back (in a private temporary file) until the whole message, and its signature, verified.")
    var verifyBeforeOutput = false

    @Option(name: .customLong("hedge-delay-ms"), help: "With aws-kms keys in several regions: milliseconds to wait for one region before also asking the next (0 to 60000).")
    var hedgeDelayMilliseconds: Int = 200

    func validate() throws {
        try tenantOptions.validate(keys: key, kms: envelope.kms)
        try OptionLimits.hedgeDelay.check(hedgeDelayMilliseconds)
    }

    func run() async throws {
        // Everything the user typed is checked, and the output opened, before any key is used.
        let context = try envelope.encryptionContext()
        let specs = try key.map { try KeySpec(parsing: $0) }
        let source = try ChunkedInput(path: input)
        let sink = try CommandOutput(path: output)
        if let tenant = tenantOptions.tenant {
            try await tenantOptions.withTenantStore(profile: envelope.kms.profile, timeoutSeconds: envelope.kms.timeoutSeconds) { operatorConfiguration, kms, store in
                try await decrypt(tenant: tenant, context: context, source: source, sink: sink, store: store,
                                  operatorConfiguration: operatorConfiguration, kms: kms)
            }
            return
        }
        try await envelope.kms.withClients(hedgeDelayMilliseconds: hedgeDelayMilliseconds) { kms in
            let keyring = try await KeySpec.keyring(for: specs, kms: kms)
            var decryptor = MessageDecryptor(keyring: keyring, requiredContext: context, configuration: envelope.configuration())
            var release = PlaintextRelease(destination: sink.kind, verifyBeforeOutput: verifyBeforeOutput)
            var ready: [UInt8] = []
            ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
            while let chunk = try source.next() {
                ready.removeAll(keepingCapacity: true)
                try await decryptor.update(chunk, into: &ready)
                // The header precedes all plaintext, so the suite is known before the first byte is released.
                if let suite = decryptor.suite { try release.decide(signed: suite.isSigned) }
                try release.write(ready, to: sink)
            }
            try release.write(try decryptor.finish(), to: sink)
            try release.publish(to: sink)
        }
    }

    /// Streams a tenant message to the output, releasing plaintext as the key-based decrypt does;
    /// generic over the store so the tenant crypto works on the backend's own repository type.
    private func decrypt<Store: StoreBackend>(tenant: String, context: EncryptionContext, source: ChunkedInput, sink: CommandOutput,
                                             store: Store, operatorConfiguration: OperatorConfiguration, kms: TenantKMS) async throws {
        let timeout = Duration.milliseconds(Int64((envelope.kms.timeoutSeconds * 1000).rounded()))
        let configuration = TenantCryptoConfiguration(
            envelope: envelope.configuration(),
            multiRegion: MultiRegionKeyring.Configuration(wrapTimeout: timeout, hedgeDelay: .milliseconds(hedgeDelayMilliseconds)))
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: operatorConfiguration, kms: kms,
                                      configuration: configuration)
        var decryptor = try await crypto.decryptor(tenant: tenant, context: context)
        var release = PlaintextRelease(destination: sink.kind, verifyBeforeOutput: verifyBeforeOutput)
        var ready: [UInt8] = []
        ready.reserveCapacity(ChunkedInput.chunkSize + ChunkedInput.chunkSize / 8)
        while let chunk = try source.next() {
            ready.removeAll(keepingCapacity: true)
            try await decryptor.update(chunk, into: &ready)
            if let suite = decryptor.suite { try release.decide(signed: suite.isSigned) }
            try release.write(ready, to: sink)
        }
        try release.write(try decryptor.finish(), to: sink)
        try release.publish(to: sink)
    }
}

/// When decrypted plaintext may reach the destination: as each frame verifies, or only after the
/// whole message (and a signed message's signature) verified.
///
/// A regular file is held back by its temporary-file rename; stdout streams unless
/// `--verify-before-output`; a special file (a FIFO, /dev/stdout) is held back for signed messages,
/// whose frames could otherwise be read before the signature is checked.
struct PlaintextRelease {
    private let destination: CommandOutput.Kind
    private let verifyBeforeOutput: Bool
    private var decided = false
    private var held: HeldOutput?

    init(destination: CommandOutput.Kind, verifyBeforeOutput: Bool) {
        self.destination = destination
        self.verifyBeforeOutput = verifyBeforeOutput
    }

    /// Chooses, once the message's suite is known, whether plaintext is held back.
    mutating func decide(signed: Bool) throws {
        guard !decided else { return }
        decided = true
        let holdBack = switch destination {
        case .file: false // the rename already publishes only a verified message
        case .standardOutput: verifyBeforeOutput
        case .stream: verifyBeforeOutput || signed
        }
        if holdBack { held = try HeldOutput() }
    }

    func write(_ plaintext: [UInt8], to sink: CommandOutput) throws {
        guard !plaintext.isEmpty else { return }
        precondition(decided, "plaintext before the header was read")
        if let held { try held.write(plaintext) } else { try sink.write(plaintext) }
    }

    /// Called after the message verified: releases what was held back and finishes the output.
    func publish(to sink: CommandOutput) throws {
        if let held { try sink.write(contentsOf: try held.replay()) }
        try sink.commit()
    }
}
