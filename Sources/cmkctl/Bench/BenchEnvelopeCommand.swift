import ArgumentParser
import CMKEnvelope
import Crypto
import Foundation

struct BenchEnvelopeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envelope",
        abstract: "Envelope throughput against OpenSSL's AES-256-GCM and the Python AWS Encryption SDK.",
        discussion: """
        Measures MiB/s to encrypt and decrypt a message (default 64 MiB) with frame lengths 4096 and \
        65536 for suites 0478 and 0578, and operations per second for 1 KiB messages (encrypt, \
        decrypt, round trip) with one raw AES key. In the same run it measures `openssl speed -evp \
        aes-256-gcm` on 16 KiB blocks and, with --python, the Python SDK's 1 KiB round trips \
        (scripts/esdk-python-bench.py), and prints each figure as a ratio to those limits.
        """)

    @Option(name: .customLong("message-mib"), help: "Size of the large message in MiB (1 to 4096).")
    var messageMiB: Int = 64

    @Option(name: .long, help: "Seconds to spend on each 1 KiB figure (0.1 to 600).")
    var seconds: Double = 2

    @Option(name: .long, help: "Python interpreter with aws-encryption-sdk installed (e.g. .venv/bin/python); omit to skip that comparison.")
    var python: String?

    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("small-only"), help: "Measure only the 1 KiB figures (and Python's with --python); skips OpenSSL and the large message.")
    var smallOnly = false

    func validate() throws {
        try OptionRange("--message-mib", 1...4096, "MiB").check(messageMiB)
        try OptionRange("--seconds", 0.1...600, "seconds").check(seconds)
    }

    func run() async throws {
        var report = BenchReport(title: "cmkctl bench envelope")
        let keyring = try RawAESKeyring(namespace: "bench", name: "key", wrappingKey: SymmetricKey(size: .bits256))
        let context = try EncryptionContext([("tenant", "bench")])
        if !smallOnly {
            try await measureLargeMessages(keyring: keyring, context: context, into: &report)
        }
        let small = [UInt8](repeating: 0x41, count: 1024)
        let envelope = Envelope()
        let sample = try await envelope.encrypt(small, context: context, keyring: keyring)
        let encryptOps = try await Self.opsPerSecond(seconds: seconds) { _ = try await envelope.encrypt(small, context: context, keyring: keyring) }
        let decryptOps = try await Self.opsPerSecond(seconds: seconds) { _ = try await envelope.decrypt(sample, keyring: keyring) }
        let roundTripOps = try await Self.opsPerSecond(seconds: seconds) {
            let message = try await envelope.encrypt(small, context: context, keyring: keyring)
            let decrypted = try await envelope.decrypt(message, keyring: keyring)
            guard decrypted.plaintext.count == small.count else { throw CommandFailure(status: .dataError, message: "round trip lost bytes") }
        }
        report.add("encrypt_1k_0478_ops_s", encryptOps, unit: "ops/s")
        report.add("decrypt_1k_0478_ops_s", decryptOps, unit: "ops/s")
        if let python {
            let pythonOps = try PythonSDKSpeed.roundTripsPerSecond(python: python, seconds: seconds)
            report.add("python_esdk_roundtrip_1k_0478_ops_s", pythonOps, unit: "ops/s", note: "aws-encryption-sdk, raw AES master key")
            report.add("roundtrip_1k_0478_ops_s", roundTripOps, unit: "ops/s", ratioTo: pythonOps, ratioName: "x Python SDK")
        } else {
            report.add("roundtrip_1k_0478_ops_s", roundTripOps, unit: "ops/s", note: "pass --python to compare with the Python SDK")
        }
        report.print(json: output.json)
    }

    /// OpenSSL's AES-256-GCM limit, then MiB/s for each suite and frame length as a share of it.
    func measureLargeMessages(keyring: RawAESKeyring, context: EncryptionContext, into report: inout BenchReport) async throws {
        let openSSL = try OpenSSLSpeed.measureAES256GCM(blockSize: 16384, seconds: max(1, Int(seconds)))
        report.add("openssl_aes_256_gcm_16k_mib_s", openSSL, unit: "MiB/s", note: "openssl speed -evp aes-256-gcm -bytes 16384")
        // A 0578 message is sealed and also hashed whole with SHA-384 for its signature, one hash chain
        // that no second core can split: its ceiling is both costs in series.
        let sha384 = try OpenSSLSpeed.measureSHA384(blockSize: 16384, seconds: max(1, Int(seconds)))
        report.add("openssl_sha384_16k_mib_s", sha384, unit: "MiB/s", note: "openssl speed -evp sha384 -bytes 16384")
        let signedCeiling = 1 / (1 / openSSL + 1 / sha384)
        report.add("ceiling_0578_mib_s", signedCeiling, unit: "MiB/s", ratioTo: openSSL, ratioName: "of OpenSSL (AES-GCM + SHA-384 in series)")
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else {
            throw CommandFailure(status: .noInput, message: "cannot read /dev/urandom")
        }
        let plaintext = [UInt8](random.readData(ofLength: messageMiB << 20))
        for suite in [AlgorithmSuite.aes256GCMHKDFSHA512CommitKey, .aes256GCMHKDFSHA512CommitKeyECDSAP384] {
            for frameLength: UInt32 in [4096, 65536] {
                let configuration = EnvelopeConfiguration(suite: suite, frameLength: frameLength)
                let (encryptRate, message) = try await Self.streamEncrypt(plaintext, keyring: keyring, context: context, configuration: configuration)
                let decryptRate = try await Self.streamDecrypt(message, keyring: keyring, configuration: configuration, expectedBytes: plaintext.count)
                let label = "\(suite.hexID)_frame_\(frameLength)"
                func ofCeiling(_ rate: Double) -> String? {
                    suite.isSigned ? String(format: "%.0f%% of the 0578 ceiling", rate / signedCeiling * 100) : nil
                }
                report.add("encrypt_\(label)_mib_s", encryptRate, unit: "MiB/s", ratioTo: openSSL, ratioName: "of OpenSSL", note: ofCeiling(encryptRate))
                report.add("decrypt_\(label)_mib_s", decryptRate, unit: "MiB/s", ratioTo: openSSL, ratioName: "of OpenSSL", note: ofCeiling(decryptRate))
            }
        }
    }

    /// Encrypts in 1 MiB pieces into one reused buffer, as `cmkctl encrypt` streams a file; returns
    /// MiB/s and the message.
    static func streamEncrypt(_ plaintext: [UInt8], keyring: some Keyring, context: EncryptionContext,
                              configuration: EnvelopeConfiguration) async throws -> (Double, [UInt8]) {
        var best = 0.0
        var message: [UInt8] = []
        message.reserveCapacity(plaintext.count + plaintext.count / 64 + 65536)
        for _ in 0..<3 {
            message.removeAll(keepingCapacity: true)
            let start = ContinuousClock.now
            var encryptor = try await MessageEncryptor(keyring: keyring, encryptionContext: context, configuration: configuration)
            for offset in stride(from: 0, to: plaintext.count, by: 1 << 20) {
                try encryptor.update(plaintext[offset..<min(offset + (1 << 20), plaintext.count)], into: &message)
            }
            try encryptor.finish(into: &message)
            best = max(best, mibPerSecond(plaintext.count, since: start))
        }
        return (best, message)
    }

    /// Decrypts in 1 MiB pieces, handing each piece's plaintext on through one reused buffer.
    static func streamDecrypt(_ message: [UInt8], keyring: some Keyring, configuration: EnvelopeConfiguration,
                              expectedBytes: Int) async throws -> Double {
        var best = 0.0
        var ready: [UInt8] = []
        ready.reserveCapacity(2 << 20)
        for _ in 0..<3 {
            let start = ContinuousClock.now
            var decryptor = MessageDecryptor(keyring: keyring, configuration: configuration)
            var produced = 0
            for offset in stride(from: 0, to: message.count, by: 1 << 20) {
                ready.removeAll(keepingCapacity: true)
                try await decryptor.update(message[offset..<min(offset + (1 << 20), message.count)], into: &ready)
                produced += ready.count
            }
            produced += try decryptor.finish().count
            guard produced == expectedBytes else { throw CommandFailure(status: .dataError, message: "decrypt produced \(produced) bytes, expected \(expectedBytes)") }
            best = max(best, mibPerSecond(expectedBytes, since: start))
        }
        return best
    }

    static func opsPerSecond(seconds: Double, _ operation: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        var count = 0
        while ContinuousClock.now - start < budget {
            for _ in 0..<64 { try await operation() }
            count += 64
        }
        return Double(count) / (ContinuousClock.now - start).seconds
    }

    static func mibPerSecond(_ bytes: Int, since start: ContinuousClock.Instant) -> Double {
        Double(bytes) / 1_048_576 / (ContinuousClock.now - start).seconds
    }
}
