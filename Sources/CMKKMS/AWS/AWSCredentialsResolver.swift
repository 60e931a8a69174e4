import Foundation

/// Finds credentials the way the AWS CLI and SDKs do, for the two sources cmkctl supports: the
/// standard environment variables first, then the shared credentials file's profile.
///
/// The environment and file contents are passed in, so the order and the INI parsing are tested
/// without touching the real environment or home directory.
public struct AWSCredentialsResolver: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The profile name: `AWS_PROFILE`, then `default`.
    public var profile: String { environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default" }

    /// `AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`.
    public var credentialsFilePath: String {
        if let path = environment["AWS_SHARED_CREDENTIALS_FILE"], !path.isEmpty { return path }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.aws/credentials"
    }

    /// Environment variables, then the shared file (read from disk); `nil` when neither has a key pair.
    public func resolve(profile explicitProfile: String? = nil) -> AWSCredentials? {
        if explicitProfile == nil, let fromEnvironment = Self.fromEnvironment(environment) {
            return fromEnvironment
        }
        guard let text = try? String(contentsOfFile: credentialsFilePath, encoding: .utf8) else { return nil }
        return Self.fromSharedFile(text, profile: explicitProfile ?? profile)
    }

    /// Like `resolve`, but no credentials is an error for the operator (`misconfigured`), naming the
    /// places looked at: without credentials no key can be asked, so nothing about a key is known.
    public func require(profile explicitProfile: String? = nil) throws -> AWSCredentials {
        if let credentials = resolve(profile: explicitProfile) { return credentials }
        let sources = explicitProfile == nil
            ? "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and profile \(profile)"
            : "profile \(explicitProfile!)"
        throw KMSError(.misconfigured, "no AWS credentials: \(sources) is not in \(credentialsFilePath); "
            + "set the variables, or name a profile of that file with --profile or AWS_PROFILE")
    }

    public static func fromEnvironment(_ environment: [String: String]) -> AWSCredentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else { return nil }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    /// Parses the INI-style shared credentials file and returns the named profile's keys.
    public static func fromSharedFile(_ text: String, profile: String) -> AWSCredentials? {
        var section: String?
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = String(rawLine).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingWhitespace()
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)).trimmingWhitespace() }
                section = name
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]).trimmingWhitespace().lowercased()
            let value = String(line[line.index(after: eq)...]).trimmingWhitespace()
            values[key] = value
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }
}
