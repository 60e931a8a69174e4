import CMKTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `encrypt`/`decrypt --output`: the output goes where it is told or nowhere, and a signed
/// message's plaintext reaches a special file only after its signature verified.
@Suite("cmkctl --output destinations")
struct OutputDestinationCLITests {
    struct Message {
        let key: String
        let plaintext: [UInt8]
        let message: String
    }

    /// A 50,000-byte plaintext in 50 frames, encrypted with `suite` to `name` in `scratch`.
    func encrypt(_ scratch: Scratch, suite: String, name: String = "msg") throws -> Message {
        let key = try scratch.randomKey("k-\(name)", size: 32)
        let plaintext = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let input = try scratch.write("plain-\(name)", plaintext)
        let result = try CLIRunner.run(["encrypt", "--key", "raw-aes:n/k=\(key)", "--suite", suite, "--frame-length", "1000",
                                        "--input", input, "--output", scratch.path(name)])
        #expect(result.status == 0, "\(result.stderr)")
        return Message(key: "raw-aes:n/k=\(key)", plaintext: plaintext, message: scratch.path(name))
    }

    /// The same message with one byte of its footer signature changed: every frame still verifies.
    func resigned(_ scratch: Scratch, _ message: Message) throws -> String {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: message.message)))
        bytes[bytes.count - 10] ^= 0x01
        return try scratch.write("resigned", bytes)
    }

    @Test("a directory, a missing directory or an unwritable place is exit 73 naming it, with nothing on stdout",
          arguments: ["encrypt", "decrypt"])
    func unwritableOutput(command: String) throws {
        let scratch = try Scratch()
        let message = try encrypt(scratch, suite: "0478")
        let input = command == "encrypt" ? scratch.path("plain-msg") : message.message
        let directory = scratch.path("outdir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let locked = scratch.path("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o500])
        // root ignores directory permissions, but not sysfs's refusal to create files.
        let unwritable = geteuid() == 0 ? "/sys/cmkctl-output-test" : locked + "/out"
        let cases: [(String, String)] = [
            (directory, "it is a directory"),
            (scratch.path("absent/out"), "does not exist"),
            (unwritable, "cannot create the output file \(unwritable)"),
        ]
        for (path, phrase) in cases {
            let result = try CLIRunner.run([command, "--key", message.key, "--input", input, "--output", path])
            #expect(result.status == 73, "\(path): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(path): \(result.stdout.count) bytes reached stdout")
            #expect(result.stderr.contains(path), "\(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(!scratch.contents.contains { $0.hasSuffix(".tmp") })
    }

    @Test("regular output files are created with mode 0600 and no temporary file remains")
    func regularFileMode() throws {
        let scratch = try Scratch()
        let message = try encrypt(scratch, suite: "0578")
        let decrypt = try CLIRunner.run(["decrypt", "--key", message.key, "--input", message.message, "--output", scratch.path("out")])
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(decrypt.stdout.isEmpty)
        for path in [message.message, scratch.path("out")] {
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600, "\(path) has mode \(String(status.st_mode & 0o777, radix: 8))")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("out"))) == Data(message.plaintext))
        #expect(!scratch.contents.contains { $0.hasSuffix(".tmp") })
    }

    @Test("/dev/null and /dev/stdout are written as streams")
    func specialFilesAreStreams() throws {
        let scratch = try Scratch()
        let message = try encrypt(scratch, suite: "0478")
        let toNull = try CLIRunner.run(["decrypt", "--key", message.key, "--input", message.message, "--output", "/dev/null"])
        #expect(toNull.status == 0, "\(toNull.stderr)")
        #expect(toNull.stdout.isEmpty)
        let toStdout = try CLIRunner.run(["decrypt", "--key", message.key, "--input", message.message, "--output", "/dev/stdout"])
        #expect(toStdout.status == 0, "\(toStdout.stderr)")
        #expect(toStdout.stdout == Data(message.plaintext))
        let encrypted = try CLIRunner.run(["encrypt", "--key", message.key, "--input", scratch.path("plain-msg"), "--output", "/dev/stdout"])
        #expect(encrypted.status == 0, "\(encrypted.stderr)")
        #expect(encrypted.stdout.count > message.plaintext.count)
    }

    @Test("/dev/fd/1 with stdout redirected to a regular file writes through the shared descriptor")
    func ownDescriptorOnAFile() throws {
        let scratch = try Scratch()
        let message = try encrypt(scratch, suite: "0578")
        let bytes = { (text: String) in Array(text.utf8) }
        // run(rawArguments:) sends stdout to a regular file, so /dev/fd/1 resolves to that file.
        let result = try CLIRunner.run(rawArguments: ["decrypt", "--key", message.key, "--input", message.message, "--output", "/dev/fd/1"].map(bytes),
                                       scratch: scratch)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == Data(message.plaintext))
        var status = stat()
        #expect(lstat("/dev/stdout", &status) == 0 && status.st_mode & S_IFMT == S_IFLNK, "/dev/stdout must stay a link")
    }

    @Test("a signed message reaches /dev/stdout only after its signature verified")
    func signedToDevStdout() throws {
        let scratch = try Scratch()
        let message = try encrypt(scratch, suite: "0578")
        let good = try CLIRunner.run(["decrypt", "--key", message.key, "--input", message.message, "--output", "/dev/stdout"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout == Data(message.plaintext))
        let bad = try CLIRunner.run(["decrypt", "--key", message.key, "--input", try resigned(scratch, message), "--output", "/dev/stdout"])
        #expect(bad.status == 65, "\(bad.stderr)")
        #expect(bad.stdout.isEmpty, "\(bad.stdout.count) bytes of plaintext were released before the signature was checked")
    }

    @Test("a FIFO receives a signed message's plaintext only after its signature verified; an unsigned one streams")
    func fifo() throws {
        let scratch = try Scratch()
        let signed = try encrypt(scratch, suite: "0578", name: "signed")
        let unsigned = try encrypt(scratch, suite: "0478", name: "unsigned")
        let cases: [(input: String, key: String, status: Int32, received: [UInt8])] = [
            (signed.message, signed.key, 0, signed.plaintext),
            (try resigned(scratch, signed), signed.key, 65, []),
            (unsigned.message, unsigned.key, 0, unsigned.plaintext),
        ]
        for (index, entry) in cases.enumerated() {
            let fifo = scratch.path("fifo-\(index)")
            #expect(mkfifo(fifo, 0o600) == 0)
            let reader = FIFOReader(path: fifo)
            let result = try CLIRunner.run(["decrypt", "--key", entry.key, "--input", entry.input, "--output", fifo])
            let received = reader.finish()
            #expect(result.status == entry.status, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(received == entry.received, "case \(index): the FIFO received \(received.count) bytes")
        }
    }
}

/// Reads a FIFO to its end on another thread, as a consumer process would.
final class FIFOReader: @unchecked Sendable { // `data` is written by the reader thread before `done` is signalled, read after.
    private let path: String
    private var data: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(path: String) {
        self.path = path
        Thread.detachNewThread { [self] in
            let descriptor = open(path, O_RDONLY)
            if descriptor >= 0 {
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
                    if count <= 0 { break }
                    data += buffer[..<count]
                }
                close(descriptor)
            }
            done.signal()
        }
    }

    /// Everything read; if no writer ever opened the FIFO, opens and closes it so the reader ends.
    func finish() -> [UInt8] {
        if done.wait(timeout: .now() + 1) == .timedOut {
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        return data
    }
}
