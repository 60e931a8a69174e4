import AsyncHTTPClient
import CMKTesting
import Crypto
import Foundation
import NIOCore
import Testing

/// One real `cmkctl serve` process over a SQLite store made by the CLI: the bearer token, a 1 GiB
/// octet-stream round trip in flat memory, and SIGTERM while a request is in flight.
@Suite(.serialized) struct ServeProcessTests {
    static let token = "live-test-token-0123456789"

    /// A running `cmkctl serve` on a port the system picked, with tenant `acme` on the provider's key.
    final class ServeProcess {
        let scratch: Scratch
        let pid: pid_t
        let port: Int
        private var reaped = false

        init() throws {
            scratch = try Scratch()
            let localKMS = scratch.path(".cmkctl/local-kms.json")
            try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
            _ = try scratch.write(".cmkctl/operator.json", Array(#"{"localKms": "\#(localKMS)"}"#.utf8))
            for arguments in [["kms", "create-key", "--alias", "cmkctl-provider", "--description", "provider"],
                              ["tenants", "add", "--tenant", "acme", "--tag", "acmeprod"]] {
                let result = try CLIRunner.run(arguments, in: scratch.url)
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
            }
            let tokens = try scratch.write("tokens", Array("# rotation: old, new\nold-token-abcdefghijklmnop\n\(ServeProcessTests.token)\n".utf8))
            let output = scratch.path("serve.log")
            pid = try ChildProcess.spawn(CLIRunner.binary, arguments: [
                "serve", "--listen", "127.0.0.1:0", "--token-file", tokens,
                "--store", scratch.path(".cmkctl/store.sqlite"), "--config", scratch.path(".cmkctl/operator.json"),
            ], environment: ProcessInfo.processInfo.environment, outputPath: output)
            // The process prints its bound address once it listens (a start-up poll, not a timed wait).
            var found: Int?
            for _ in 0..<600 where found == nil {
                let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("cmkctl serve: main listening on http://") }) {
                    found = line.split(separator: ":").last.flatMap { Int($0) }
                }
                if found == nil { usleep(50_000) }
            }
            guard let found else {
                ChildProcess.stop(pid)
                throw ServeProcessError("cmkctl serve did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
            }
            port = found
        }

        var url: String { "http://127.0.0.1:\(port)" }

        /// The highest resident memory the process has had, in bytes (VmHWM).
        func peakRSS() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                  let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
                throw ServeProcessError("no VmHWM in /proc/\(pid)/status")
            }
            return kib * 1024
        }

        /// Waits for the process to exit and returns its exit status (nil if a signal ended it).
        func waitForExit() -> Int32? {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            reaped = true
            return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : nil
        }

        deinit {
            if !reaped { ChildProcess.stop(pid) }
        }
    }

    struct ServeProcessError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Pseudo-random plaintext in 1 MiB pieces: piece `i` is a fixed random block with `i` written into it,
    /// so no two pieces are alike and the sender keeps one block in memory.
    static func piece(_ index: Int, block: [UInt8]) -> ByteBuffer {
        var bytes = block
        withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        return ByteBuffer(bytes: bytes)
    }

    func request(_ url: String, token: String? = Self.token, context: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let context { request.headers.add(name: "Cmk-Encryption-Context", value: context) }
        return request
    }

    @Test func aGibibyteRoundTripsInFlatMemoryAndTheTokenIsRequired() async throws {
        let serve = try ServeProcess()
        let client = HTTPClient.shared

        var refused = request("\(serve.url)/v1/tenants/acme/encrypt", token: nil)
        refused.body = .bytes(ByteBuffer(string: "hello"))
        let unauthorized = try await client.execute(refused, timeout: .seconds(30))
        #expect(unauthorized.status == .unauthorized)
        #expect(unauthorized.headers.first(name: "Content-Type") == "application/problem+json")
        var oldToken = request("\(serve.url)/v1/tenants/acme/encrypt", token: "old-token-abcdefghijklmnop")
        oldToken.body = .bytes(ByteBuffer(string: "hello"))
        #expect(try await client.execute(oldToken, timeout: .seconds(30)).status == .ok)

        let pieces = 1024
        var generator = SystemRandomNumberGenerator()
        let block = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var plaintextHash = SHA256()
        for index in 0..<pieces { plaintextHash.update(data: Self.piece(index, block: block).readableBytesView) }

        // Encrypt: 1 GiB up, the message down into a file.
        var encrypt = request("\(serve.url)/v1/tenants/acme/encrypt", context: #"{"purpose":"backup"}"#)
        encrypt.body = .stream(PlaintextPieces(count: pieces, block: block), length: .known(Int64(pieces << 20)))
        let messagePath = serve.scratch.path("message.cmk")
        FileManager.default.createFile(atPath: messagePath, contents: nil)
        let messageFile = try FileHandle(forWritingTo: URL(fileURLWithPath: messagePath))
        let encrypted = try await client.execute(encrypt, timeout: .seconds(1800))
        #expect(encrypted.status == .ok)
        var messageBytes = 0
        for try await buffer in encrypted.body {
            messageBytes += buffer.readableBytes
            try messageFile.write(contentsOf: Data(buffer.readableBytesView))
        }
        try messageFile.close()
        #expect(messageBytes > pieces << 20)

        // Decrypt: the file up, the plaintext down, hashed as it arrives.
        var decrypt = request("\(serve.url)/v1/tenants/acme/decrypt", context: #"{"purpose":"backup"}"#)
        decrypt.body = .stream(FilePieces(path: messagePath), length: .known(Int64(messageBytes)))
        let decrypted = try await client.execute(decrypt, timeout: .seconds(1800))
        #expect(decrypted.status == .ok)
        var decryptedHash = SHA256()
        var decryptedBytes = 0
        for try await buffer in decrypted.body {
            decryptedBytes += buffer.readableBytes
            decryptedHash.update(data: buffer.readableBytesView)
        }
        #expect(decryptedBytes == pieces << 20)
        #expect(decryptedHash.finalize() == plaintextHash.finalize())

        let peak = try serve.peakRSS()
        print("serve: peak RSS after a 1 GiB encrypt and decrypt: \(peak >> 20) MiB")
        #expect(peak < 200 << 20, "peak RSS \(peak >> 20) MiB")
        kill(serve.pid, SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    /// What the command refuses before it opens the store or binds a port, with the exit-code table's codes.
    @Test func refusalsBeforeServingExitWithTheirCodes() throws {
        let scratch = try Scratch()
        let short = try scratch.write("short-tokens", Array("too-short\n".utf8))
        let empty = try scratch.write("empty-tokens", Array("# nothing\n\n".utf8))
        let good = try scratch.write("tokens", Array("\(Self.token)\n".utf8))
        let cases: [([String], Int32, String)] = [
            (["serve"], 64, "--token-file"),
            (["serve", "--token-file", good, "--listen", "localhost"], 64, "HOST:PORT"),
            (["serve", "--token-file", good, "--admin-listen", "127.0.0.1:70000"], 64, "HOST:PORT"),
            (["serve", "--token-file", good, "--max-body-bytes", "10"], 64, "--max-body-bytes"),
            (["serve", "--token-file", scratch.path("missing")], 78, "cannot read the token file"),
            (["serve", "--token-file", short], 78, "at least 16 characters"),
            (["serve", "--token-file", empty], 78, "holds no token"),
            (["serve", "--token-file", good, "--store", scratch.path("none.sqlite")], 74, "no store"),
        ]
        for (arguments, status, message) in cases {
            let result = try CLIRunner.run(arguments, in: scratch.url)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains(Self.token))
        }
    }

    @Test func sigtermLetsTheRequestInFlightFinish() async throws {
        let serve = try ServeProcess()
        let client = HTTPClient.shared
        let (body, feed) = AsyncStream<ByteBuffer>.makeStream()
        var encrypt = request("\(serve.url)/v1/tenants/acme/encrypt")
        encrypt.body = .stream(body, length: .known(Int64(4 << 20)))
        let piece = ByteBuffer(repeating: 0x61, count: 1 << 20)
        feed.yield(piece)
        // The response head arrives once the server has started the message: the request is in flight.
        let response = try await client.execute(encrypt, timeout: .seconds(120))
        #expect(response.status == .ok)
        kill(serve.pid, SIGTERM)
        for _ in 0..<3 { feed.yield(piece) }
        feed.finish()
        var message: [UInt8] = []
        for try await buffer in response.body { message += buffer.readableBytesView }
        #expect(message.count > 4 << 20)
        #expect(serve.waitForExit() == 0)
        let log = try String(contentsOfFile: serve.scratch.path("serve.log"), encoding: .utf8)
        #expect(!log.contains("error"), "\(log)")
    }
}

/// The test's plaintext, made one piece at a time as the client sends it.
struct PlaintextPieces: AsyncSequence, Sendable {
    let count: Int
    let block: [UInt8]

    struct AsyncIterator: AsyncIteratorProtocol {
        let pieces: PlaintextPieces
        var index = 0

        mutating func next() async -> ByteBuffer? {
            guard index < pieces.count else { return nil }
            defer { index += 1 }
            return ServeProcessTests.piece(index, block: pieces.block)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pieces: self) }
}

/// A file read 1 MiB at a time as the client sends it.
struct FilePieces: AsyncSequence, Sendable {
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?

        mutating func next() async throws -> ByteBuffer? {
            guard let handle, let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}
