import Foundation

/// Reads input in fixed-size chunks from a file or stdin, so memory does not grow with the input.
///
/// It calls read(2) into one reused buffer: Foundation's `FileHandle.read(upToCount:)` reads a page at
/// a time, which made a 256 MiB encrypt spend most of its time in 65,000 system calls.
final class ChunkedInput {
    static let chunkSize = 1 << 20
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// What the input is called in messages: its path, or "standard input".
    private let name: String
    private var buffer = [UInt8](repeating: 0, count: chunkSize)

    /// - Parameter path: a file, or nil / "-" for stdin.
    init(path: String?) throws {
        if let path, path != "-" {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw CommandFailure(status: .noInput, message: "cannot open the input file \(path): \(CommandOutput.reason(errno))")
            }
            var status = stat()
            if fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
                close(descriptor)
                throw CommandFailure(status: .noInput, message: "cannot read the input file \(path): it is a directory")
            }
            self.descriptor = descriptor
            self.ownsDescriptor = true
            self.name = path
        } else {
            self.descriptor = STDIN_FILENO
            self.ownsDescriptor = false
            self.name = "standard input"
        }
    }

    /// Reads a descriptor someone else owns and closes (a held-back output being replayed).
    init(borrowing descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.ownsDescriptor = false
        self.name = name
    }

    /// The next chunk, or nil at the end of input. The slice shares the reused buffer, so let it go
    /// before asking for the next one (or it is copied).
    func next() throws -> ArraySlice<UInt8>? {
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(status: .noInput, message: "cannot read \(name): \(CommandOutput.reason(errno))")
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

