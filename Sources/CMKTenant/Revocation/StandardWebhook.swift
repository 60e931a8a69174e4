import Crypto
import Foundation

/// Signing and verification in the Standard Webhooks scheme: `webhook-id`, `webhook-timestamp` (Unix
/// seconds) and `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256>` entries) over
/// `id.timestamp.body`, keyed by a `whsec_` secret.
///
/// Used both ways: the KMS event intake verifies what a sender signed (several secrets for rotation,
/// several signatures per request, five minutes' tolerance either side), and operator notifications
/// are signed with the operator's secret.
public struct StandardWebhook: Sendable {
    /// Why a request was refused; each maps to 401 at the intake, and none says which secret was tried.
    public enum Failure: String, Error, Sendable, Equatable {
        case missingHeaders = "missing-headers"
        case malformedTimestamp = "malformed-timestamp"
        case staleTimestamp = "stale-timestamp"
        case noMatchingSignature = "no-matching-signature"
    }

    private let keys: [SymmetricKey]
    public let tolerance: TimeInterval

    /// - Parameter secrets: `whsec_<base64>` (or the bare base64), at least one; several during a rotation.
    public init(secrets: [String], tolerance: TimeInterval = 300) throws {
        guard !secrets.isEmpty else { throw TenantError(.configuration, "a Standard Webhooks verifier needs at least one secret") }
        keys = try secrets.map { secret in
            let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst("whsec_".count)) : secret
            guard let bytes = Data(base64Encoded: encoded), !bytes.isEmpty else {
                throw TenantError(.configuration, "a webhook secret is not whsec_ followed by base64")
            }
            return SymmetricKey(data: bytes)
        }
        self.tolerance = tolerance
    }

    /// A new random secret, `whsec_` and 32 bytes of base64.
    public static func generateSecret() -> String {
        "whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The `webhook-signature` value for a message, signed with the first secret.
    public func signature(id: String, timestamp: Int, body: some DataProtocol) -> String {
        "v1," + Self.mac(key: keys[0], id: id, timestamp: timestamp, body: body).base64EncodedString()
    }

    /// The three headers of a signed request.
    public func headers(id: String, timestamp: Date, body: some DataProtocol) -> [(name: String, value: String)] {
        let seconds = Int(timestamp.timeIntervalSince1970)
        return [("webhook-id", id), ("webhook-timestamp", String(seconds)), ("webhook-signature", signature(id: id, timestamp: seconds, body: body))]
    }

    /// Checks a request's headers against its raw body: the timestamp within `tolerance` of `now`, and
    /// some `v1` signature made with one of the secrets (compared in constant time).
    public func verify(id: String?, timestamp: String?, signature: String?, body: some DataProtocol, now: Date) throws(Failure) {
        guard let id, let timestamp, let signature, !id.isEmpty, !signature.isEmpty else { throw .missingHeaders }
        guard timestamp.count <= 12, timestamp.allSatisfy(\.isASCIIDigit), let seconds = Int(timestamp) else { throw .malformedTimestamp }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { throw .staleTimestamp }
        let offered = signature.split(separator: " ").compactMap { entry -> Data? in
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1" else { return nil }
            return Data(base64Encoded: String(parts[1]))
        }
        for key in keys {
            let expected = Self.mac(key: key, id: id, timestamp: seconds, body: body)
            // Every offered signature is compared, so the time taken does not say which one matched.
            var matched = false
            for candidate in offered where Self.constantTimeEquals(candidate, expected) { matched = true }
            if matched { return }
        }
        throw .noMatchingSignature
    }

    private static func mac(key: SymmetricKey, id: String, timestamp: Int, body: some DataProtocol) -> Data {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return Data(hmac.finalize())
    }

    /// Equal length and bytes, in time that depends only on the length.
    static func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
