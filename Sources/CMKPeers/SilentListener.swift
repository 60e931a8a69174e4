import CMKKMS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP port that completes connections and never answers: the shape of a region that
/// hangs (a black-holed load balancer), which costs a timeout rather than a fast refusal.
///
/// It listens but never accepts; the kernel finishes the handshakes into the backlog, so clients
/// connect, send their request, and wait.
public struct SilentListener: Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws {
        let fd = try LoopbackPort.boundSocket(port: 0)
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw KMSError(.unreachable, "listen failed: errno \(errno)")
        }
        self.fd = fd
        self.port = try LoopbackPort.port(of: fd)
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        close(fd)
    }
}
