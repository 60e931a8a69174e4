/// Turns a KMS-compatible server's error answer into a `KMSError`, without any I/O.
///
/// AWS KMS answers JSON 1.1 errors as `{"__type": "NotFoundException", "message": "..."}` (the type is
/// sometimes namespaced, `com.amazonaws.kms#NotFoundException`). Gateways and KMS-compatible servers
/// (moto's IAM check among them) answer a denial as HTTP 403 with an XML body
/// `<Error><Code>AccessDenied</Code><Message>...</Message></Error>` instead. Both shapes map onto the
/// same codes, so a denial is a denial whichever layer produced it.
public struct KMSErrorClassifier: Sendable {
    public init() {}

    /// Classifies a non-2xx answer from its status and body bytes.
    public func classify(status: Int, body: [UInt8]) -> KMSError {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let parsed = Self.parseJSONError(text) ?? Self.parseXMLError(text)
        if let (type, message) = parsed {
            let code = Self.code(forType: type, status: status)
            return KMSError(code, message.isEmpty ? "HTTP \(status)" : message, serviceErrorType: type)
        }
        return KMSError(Self.code(forStatus: status), "HTTP \(status) without a recognizable error body")
    }

    /// Maps a service error name onto a code; unknown names fall back to the HTTP status.
    public static func code(forType rawType: String, status: Int) -> KMSError.Code {
        let type = shortName(rawType)
        switch type {
        case "AccessDeniedException", "AccessDenied", "SignatureDoesNotMatch", "InvalidClientTokenId",
             "UnrecognizedClientException", "IncompleteSignature", "IncompleteSignatureException",
             "MissingAuthenticationToken", "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException":
            return .denied
        case "DisabledException", "KMSInvalidStateException", "KeyUnavailableException":
            return .disabled
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

    /// The code an error answer gets from its status alone.
    public static func code(forStatus status: Int) -> KMSError.Code {
        switch status {
        case 401, 403: .denied
        case 404: .notFound
        case 429: .throttled
        case 500...599: .unreachable
        default: .invalidRequest
        }
    }

    /// Whether a status is worth retrying: throttling and server errors only, never a 4xx that would
    /// fail the same way again.
    public static func isRetryable(_ code: KMSError.Code) -> Bool {
        code == .throttled || code == .unreachable
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
        guard let object = try? JSONValue.parse(Array(text.utf8)), case .object = object else { return nil }
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
