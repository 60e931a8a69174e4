/// Turns a KMS-compatible server's error answer into a `KMSError`, without any I/O.
///
/// AWS KMS answers JSON 1.1 errors as `{"__type": "NotFoundException", "message": "..."}` (the type is
/// sometimes namespaced, `com.amazonaws.kms#NotFoundException`). Gateways and KMS-compatible servers
/// (moto's IAM check among them) answer a denial as HTTP 403 with an XML body
/// `<Error><Code>AccessDenied</Code><Message>...</Message></Error>` instead. Both shapes map onto the
/// same codes, so a denial is a denial whichever layer produced it. Each code carries its failure
/// class (`KMSError.Code.failureClass`), so this is the one place that decides what a failure means.
public struct KMSErrorClassifier: Sendable {
    public init() {}

    /// Classifies a non-2xx answer from its status and body bytes.
    public func classify(status: Int, body: [UInt8]) -> KMSError {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let parsed = Self.parseJSONError(text) ?? Self.parseXMLError(text)
        if let (type, message) = parsed {
            let code = Self.code(forType: type, message: message, status: status)
            return KMSError(code, message.isEmpty ? "HTTP \(status)" : message, serviceErrorType: type)
        }
        let code = Self.code(forStatus: status)
        let hint = code == .misconfigured ? " (is the endpoint a KMS endpoint?)" : ""
        return KMSError(code, "HTTP \(status) without a recognizable KMS error body\(hint)")
    }

    /// Maps a service error name (and, for the two names whose meaning depends on it, the message)
    /// onto a code; unknown names fall back to the HTTP status.
    ///
    /// The line between the customer and us: errors about *our request's credentials*
    /// (unknown key id, bad signature, expired or missing token) are `misconfigured`, whatever key
    /// the call named; `AccessDeniedException` is the customer's `denied` unless its message says our
    /// own account refused (an identity-based policy, a permissions boundary, a session policy or a
    /// service control policy, which apply to the caller's account only).
    public static func code(forType rawType: String, message: String = "", status: Int) -> KMSError.Code {
        let type = shortName(rawType)
        switch type {
        case "AccessDeniedException", "AccessDenied":
            return refusedByOurAccount(message) ? .misconfigured : .denied
        case "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidSignatureException",
             "IncompleteSignature", "IncompleteSignatureException", "MissingAuthenticationToken",
             "MissingAuthenticationTokenException", "ExpiredToken", "ExpiredTokenException", "RequestExpired",
             "InvalidAccessKeyId", "OptInRequired":
            return .misconfigured
        case "DisabledException":
            return .disabled
        case "KMSInvalidStateException", "InvalidStateException":
            return codeForInvalidState(message)
        case "KeyUnavailableException":
            return .keyUnavailable
        case "NotFoundException", "NoSuchEntity", "NotFound":
            return .notFound
        case "InvalidCiphertextException", "IncorrectKeyException", "InvalidCiphertext":
            return .invalidCiphertext
        case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
             "LimitExceededException", "SlowDown":
            return .throttled
        case "KMSInternalException", "DependencyTimeoutException", "InternalFailure", "ServiceUnavailable",
             "ServiceUnavailableException", "InternalError":
            return .unreachable
        default:
            return code(forStatus: status)
        }
    }

    /// `KMSInvalidStateException` is a revocation only when the message names a state the key's
    /// owner chose (disabled, pending deletion or import); a key being created or updated, or a state
    /// we cannot recognize, is waited out, because only a revocation may suspend a tenant.
    static func codeForInvalidState(_ message: String) -> KMSError.Code {
        let words = message.lowercased().filter { $0.isLetter }
        if ["notfound", "doesnotexist"].contains(where: words.contains) { return .notFound }
        if ["disabled", "pendingdeletion", "pendingimport", "pendingreplicadeletion"].contains(where: words.contains) { return .disabled }
        return .keyUnavailable
    }

    /// The code a key's DescribeKey state stands for, `nil` when the key is enabled: the same line
    /// as for an invalid-state error, drawn from the state itself.
    public static func code(forKeyState state: KeyMetadata.State?) -> KMSError.Code? {
        switch state {
        case .enabled?: nil
        case .disabled?, .pendingDeletion?, .pendingImport?: .disabled
        case .creating?, .updating?, .unavailable?, nil: .keyUnavailable
        }
    }

    /// Whether an access-denied message blames a policy of the caller's own account.
    static func refusedByOurAccount(_ message: String) -> Bool {
        let text = message.lowercased()
        let ours = ["identity-based policy", "permissions boundary", "session policy", "service control policy"]
        return ours.contains(where: text.contains)
    }

    /// The code an error answer gets from its status alone. Without a KMS error name there is no
    /// evidence of a revocation: a 4xx without one is an endpoint or request we got wrong.
    public static func code(forStatus status: Int) -> KMSError.Code {
        switch status {
        case 429: .throttled
        case 500...599: .unreachable
        case 401, 403, 404: .misconfigured
        default: .invalidRequest
        }
    }

    /// `com.amazonaws.kms#NotFoundException:http://...` → `NotFoundException`.
    static func shortName(_ type: String) -> String {
        var name = Substring(type)
        if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        return String(name).trimmingWhitespace()
    }

    static func parseJSONError(_ text: String) -> (String, String)? {
        guard text.first(where: { !$0.isWhitespace }) == "{" else { return nil }
        guard let object = try? JSONValue(parsing: text, limits: .shallow), case .object = object else { return nil }
        guard let type = object["__type"]?.stringValue ?? object["code"]?.stringValue ?? object["Code"]?.stringValue else { return nil }
        let message = object["message"]?.stringValue ?? object["Message"]?.stringValue ?? ""
        return (type, message)
    }

    static func parseXMLError(_ text: String) -> (String, String)? {
        guard let code = xmlElement("Code", in: text) else { return nil }
        return (code, xmlElement("Message", in: text) ?? "")
    }

    /// The text of the first `<name>…</name>`; error bodies are small and flat, so no XML parser.
    static func xmlElement(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"),
              let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound]).trimmingWhitespace()
    }
}
