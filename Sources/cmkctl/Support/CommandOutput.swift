import Foundation

/// Where `encrypt` and `decrypt` write: exactly where `--output` says, or an error, never somewhere else.
///
/// The destination is opened before any work is done, so a path that cannot be written fails first
/// (exit 73), naming the path and the reason, with nothing on stdout.
/// - No `--output` or `-`: standard output, written as the bytes come.
/// - A regular file, or a path that does not exist yet: a hidden temporary file beside it (mode 0600)
///   that `commit()` renames into place, so a failed run leaves nothing at the path.
/// - The process's own descriptors (`/dev/stdout`, `/dev/fd/N`): that descriptor, as a stream.
/// - Any other existing file that is not a directory (a FIFO, `/dev/null`, a terminal): opened for
///   writing and written as a stream; nothing can be renamed onto a device.
final class CommandOutput {
    /// How the destination is written.
    enum Kind: Equatable {
        case standardOutput
        /// An existing special file, written in place.
        case stream
        /// A regular file, published by renaming a temporary file.
        case file
    }

    let kind: Kind
    /// The destination as the user named it, for messages ("standard output" when there is none).
    let name: String
    private let descriptor: Int32
    private let temporaryPath: String?
    private let finalPath: String?
    private var finished = false

    /// - Parameter path: a file, or nil / "-" for stdout.
    init(path: String?) throws {
        guard let path, path != "-" else {
            kind = .standardOutput
            name = "standard output"
            descriptor = STDOUT_FILENO
            temporaryPath = nil
            finalPath = nil
            return
        }
        name = path
        if let own = Self.ownDescriptor(named: path) {
            // The process's own descriptor, shared (offset, append mode) rather than reopened: when
            // stdout is a regular file, /dev/stdout resolves to that file, and renaming a temporary
            // file onto the path would replace the /dev/stdout link itself.
            let descriptor = fcntl(own, F_DUPFD_CLOEXEC, 3)
            guard descriptor >= 0 else {
                throw CommandFailure(status: .cannotCreate, message: "cannot write the output to \(path): \(Self.reason(errno))")
            }
            kind = .stream
            self.descriptor = descriptor
            temporaryPath = nil
            finalPath = nil
            return
        }
        var status = stat()
        if stat(path, &status) == 0 {
            let type = status.st_mode & S_IFMT
            if type == S_IFDIR {
                throw CommandFailure(status: .cannotCreate, message: "cannot write the output to \(path): it is a directory")
            }
            if type != S_IFREG {
                let descriptor = open(path, O_WRONLY | O_CLOEXEC)
                guard descriptor >= 0 else {
                    throw CommandFailure(status: .cannotCreate, message: "cannot write the output to \(path): \(Self.reason(errno))")
                }
                kind = .stream
                self.descriptor = descriptor
                temporaryPath = nil
                finalPath = nil
                return
            }
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).cmkctl-\(UUID().uuidString.prefix(8)).tmp").path
        // O_EXCL: never write through a file or link someone placed at the temporary name.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            let detail = switch code {
            case ENOENT: "the directory \(directory) does not exist"
            case ENOTDIR: "\(directory) is not a directory"
            case EACCES, EPERM: "no permission to create files in \(directory)"
            default: Self.reason(code)
            }
            throw CommandFailure(status: .cannotCreate, message: "cannot create the output file \(path): \(detail)")
        }
        kind = .file
        self.descriptor = descriptor
        temporaryPath = temporary
        finalPath = path
    }

    func write(_ bytes: some ContiguousBytes) throws {
        let failure = writeFully(descriptor, bytes)
        guard failure == 0 else {
            throw CommandFailure(status: .cannotCreate, message: "cannot write the output to \(name): \(Self.reason(failure))")
        }
    }

    /// Copies everything `source` still holds to the destination (the held-back plaintext).
    func write(contentsOf source: ChunkedInput) throws {
        while let chunk = try source.next() {
            try write(chunk)
        }
    }

    /// Finishes the output: a file is flushed to disk and renamed into place; a stream is closed.
    func commit() throws {
        guard !finished else { return }
        finished = true
        switch kind {
        case .standardOutput:
            return
        case .stream:
            close(descriptor)
        case .file:
            guard let temporaryPath, let finalPath else { return }
            let synced = fsync(descriptor) == 0 ? 0 : errno
            close(descriptor)
            guard synced == 0 else {
                unlink(temporaryPath)
                throw CommandFailure(status: .cannotCreate, message: "cannot write the output to \(finalPath): \(Self.reason(synced))")
            }
            guard rename(temporaryPath, finalPath) == 0 else {
                let code = errno
                unlink(temporaryPath)
                throw CommandFailure(status: .cannotCreate, message: "cannot move the output into place at \(finalPath): \(Self.reason(code))")
            }
        }
    }

    deinit {
        guard !finished else { return }
        switch kind {
        case .standardOutput: break
        case .stream: close(descriptor)
        case .file:
            close(descriptor)
            if let temporaryPath { unlink(temporaryPath) }
        }
    }

    /// The descriptor `path` names in the process itself: `/dev/stdout` (1), `/dev/stderr` (2),
    /// `/dev/fd/N` and `/proc/self/fd/N`; nil for any other path.
    static func ownDescriptor(named path: String) -> Int32? {
        switch path {
        case "/dev/stdin": return STDIN_FILENO
        case "/dev/stdout": return STDOUT_FILENO
        case "/dev/stderr": return STDERR_FILENO
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count))
            }
            return nil
        }
    }

    /// strerror's text, lower-cased to continue a sentence ("permission denied").
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

/// A private, already-unlinked temporary file that holds plaintext back until the message verified.
///
/// It is unlinked as soon as it is created, so nothing is left behind on any exit, even a kill; the
/// bytes are read back through the same descriptor. Mode 0600 while it briefly has a name.
final class HeldOutput {
    private let descriptor: Int32

    init() throws {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-held-XXXXXX").path.utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw CommandFailure(status: .cannotCreate, message: "cannot create a temporary file in \(FileManager.default.temporaryDirectory.path) to hold the output: \(CommandOutput.reason(errno))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
    }

    func write(_ bytes: some ContiguousBytes) throws {
        let failure = writeFully(descriptor, bytes)
        guard failure == 0 else {
            throw CommandFailure(status: .cannotCreate, message: "cannot hold the output in a temporary file: \(CommandOutput.reason(failure))")
        }
    }

    /// Everything written so far, read from the start.
    func replay() throws -> ChunkedInput {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw CommandFailure(status: .cannotCreate, message: "cannot read back the held output: \(CommandOutput.reason(errno))")
        }
        return ChunkedInput(borrowing: descriptor, name: "the held output")
    }

    deinit { close(descriptor) }
}

/// Writes all of `bytes`, retrying short writes and interrupted calls; returns 0 or the failing errno.
private func writeFully(_ descriptor: Int32, _ bytes: some ContiguousBytes) -> Int32 {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += count
        }
        return 0
    }
}
