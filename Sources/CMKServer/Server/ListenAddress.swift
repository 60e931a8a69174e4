/// `HOST:PORT` of a listener, as `--listen` and `--admin-listen` take it (`[::1]:8765` for IPv6).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let refusal = ServerError(.configuration, "\(text.escapingControlCharactersForMessage): a listen address is HOST:PORT, PORT 0 to 65535")
        guard let colon = text.lastIndex(of: ":") else { throw refusal }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw refusal }
        self.init(host: host, port: port)
    }

    /// Whether only this machine can reach it: the operator's routes are open there without an admin listener.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    fileprivate var escapingControlCharactersForMessage: String {
        String(unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}
