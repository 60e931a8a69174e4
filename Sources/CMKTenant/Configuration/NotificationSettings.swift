import Foundation

/// Where the operator's platform hears about tenants (`notifications` in the operator configuration):
/// a URL, and a file holding the Standard Webhooks secret (`whsec_…`) every notice is signed with.
/// A relative `secretFile` is relative to the configuration file.
public struct NotificationSettings: Sendable, Equatable, Codable {
    public var url: String
    public var secretFile: String

    public init(url: String, secretFile: String) {
        self.url = url
        self.secretFile = secretFile
    }

    /// Reads the secret (the first non-empty line of the file) and makes the signer.
    public func signer() throws -> StandardWebhook {
        let text: String
        do {
            text = try String(contentsOfFile: secretFile, encoding: .utf8)
        } catch {
            throw TenantError(.configuration, "cannot read the notification secret file \(secretFile)")
        }
        guard let secret = text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty }) else {
            throw TenantError(.configuration, "the notification secret file \(secretFile) is empty")
        }
        return try StandardWebhook(secrets: [secret])
    }
}
