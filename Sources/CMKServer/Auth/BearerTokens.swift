import Crypto
import Foundation

/// The bearer tokens the sidecar accepts: one per line of the token file, several during a rotation.
///
/// Only SHA-256 digests are kept, and a presented token is compared by digest against every one of
/// them with swift-crypto's constant-time digest comparison, so neither a token's content nor its
/// length shows in the time a refusal takes.
public struct BearerTokens: Sendable {
    private let digests: [SHA256.Digest]

    /// Tokens shorter than this are refused when the file is read: a guessable token is no token.
    public static let minimumLength = 16

    public init(tokens: [String]) throws {
        let kept = tokens.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !kept.isEmpty else { throw ServerError(.configuration, "the token file holds no token (one per line)") }
        guard kept.allSatisfy({ $0.utf8.count >= Self.minimumLength }) else {
            throw ServerError(.configuration, "every token must be at least \(Self.minimumLength) characters")
        }
        guard kept.allSatisfy({ $0.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F } }) else {
            throw ServerError(.configuration, "a token may only hold visible ASCII characters")
        }
        digests = kept.map { SHA256.hash(data: Data($0.utf8)) }
    }

    /// Reads a token file: one token per line, blank lines and `#` comments skipped.
    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServerError(.configuration, "cannot read the token file \(path)")
        }
        try self.init(tokens: text.split(whereSeparator: \.isNewline).map(String.init))
    }

    public var count: Int { digests.count }

    /// Whether `token` is one of the accepted tokens; every digest is compared, match or not.
    public func accepts(_ token: Substring) -> Bool {
        let presented = SHA256.hash(data: Data(token.utf8))
        var matched = false
        for digest in digests {
            matched = (digest == presented) || matched
        }
        return matched
    }
}
