import CMKEnvelope
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an input that has a size limit, stopping one byte past the limit: a 54 MB file given where
/// a 32 KB policy belongs is refused after 32 KB, not loaded whole and then refused.
enum BoundedInput {
    /// The bytes of `path` (`-`: standard input), or nil when it holds more than `limit` bytes.
    ///
    /// - Throws: `CommandFailure(.noInput)` naming the file when it cannot be opened or read.
    static func read(_ path: String, limit: Int) throws -> Data? {
        let isStandardInput = path == "-"
        let descriptor = isStandardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(path) }
        defer { if !isStandardInput { close(descriptor) } }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable(path)
            }
            filled += count
        }
        return filled > limit ? nil : Data(bytes[..<filled])
    }

    /// read(2); the name `read` is this type's own.
    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }

    private static func unreadable(_ path: String) -> CommandFailure {
        let name = path == "-" ? "standard input" : path
        let reason = POSIXErrorCode(rawValue: errno).map { ErrorSentence.reason(POSIXError($0)) } ?? "errno \(errno)"
        return CommandFailure(status: .noInput, message: "cannot read \(name): \(reason)")
    }
}
