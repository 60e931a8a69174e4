import Foundation

/// Reads input in fixed-size chunks from a file or stdin, so memory does not grow with the input.
///
/// It calls read(2) into one reused buffer: Foundation's `FileHandle.read(upToCount:)` reads a page at
/// a time, which made a 256 MiB encrypt spend most of its time in 65,000 system calls.
final class ChunkedInput {
    static let chunkSize = 1 << 20
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer = [UInt8](repeating: 0, count: chunkSize)

    /// - Parameter path: a file, or nil / "-" for stdin.
    init(path: String?) throws {
        if let path, path != "-" {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else {
                throw CommandFailure(status: .noInput, message: "cannot open the input file \(path): \(String(cString: strerror(errno)))")
            }
            self.descriptor = descriptor
            self.ownsDescriptor = true
        } else {
            self.descriptor = STDIN_FILENO
            self.ownsDescriptor = false
        }
    }

    /// The next chunk, or nil at the end of input. The slice shares the reused buffer, so let it go
    /// before asking for the next one (or it is copied).
    func next() throws -> ArraySlice<UInt8>? {
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(status: .noInput, message: "cannot read the input: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            filled += count
        }
        return filled > 0 ? buffer[..<filled] : nil
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
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
        // stdout, and destinations that are not regular files (/dev/null, a FIFO), are written directly.
        var status = stat()
        let isSpecialFile = path.map { stat($0, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG } ?? false
        guard let path, path != "-", !isSpecialFile else {
            handle = path.flatMap { isSpecialFile ? FileHandle(forWritingAtPath: $0) : nil } ?? FileHandle.standardOutput
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
