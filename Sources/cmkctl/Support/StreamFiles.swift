import Foundation

/// Reads input in fixed-size chunks from a file or stdin, so memory does not grow with the input.
struct ChunkedInput {
    static let chunkSize = 1 << 20
    private let handle: FileHandle

    /// - Parameter path: a file, or nil / "-" for stdin.
    init(path: String?) throws {
        if let path, path != "-" {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CommandFailure(status: .noInput, message: "cannot open the input file \(path)")
            }
            self.handle = handle
        } else {
            self.handle = FileHandle.standardInput
        }
    }

    /// The next chunk, or nil at the end of input.
    func next() throws -> Data? {
        let chunk = try handle.read(upToCount: Self.chunkSize)
        guard let chunk, !chunk.isEmpty else { return nil }
        return chunk
    }
}

/// Writes output so that a failed run leaves nothing at the destination: a file destination is
/// written to a hidden temporary file beside it and renamed into place only by `commit()`.
final class AtomicOutput {
    private let handle: FileHandle
    private let temporaryPath: String?
    private let finalPath: String?
    private var committed = false

    /// - Parameter path: a file, or nil / "-" for stdout.
    init(path: String?) throws {
        guard let path, path != "-" else {
            handle = FileHandle.standardOutput
            temporaryPath = nil
            finalPath = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).cmkctl-\(UUID().uuidString.prefix(8)).tmp").path
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CommandFailure(status: .cannotCreate, message: "cannot create the output file \(path)")
        }
        self.handle = handle
        self.temporaryPath = temporary
        self.finalPath = path
    }

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw CommandFailure(status: .cannotCreate, message: "cannot write the output: \(error.localizedDescription)")
        }
    }

    /// Publishes the output: flushes and renames the temporary file into place.
    func commit() throws {
        guard let temporaryPath, let finalPath else { return }
        try handle.synchronize()
        try handle.close()
        guard rename(temporaryPath, finalPath) == 0 else {
            throw CommandFailure(status: .cannotCreate, message: "cannot move the output into place at \(finalPath): \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    deinit {
        if !committed, let temporaryPath {
            try? handle.close()
            unlink(temporaryPath)
        }
    }
}
