import CMKEnvelope
import CMKKMS
import CMKTenant
import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem document (`application/problem+json`) with the sidecar's stable `code`.
///
/// Every error a route lets through becomes one of these in `Problem(for:)`, the one place where
/// errors meet HTTP statuses; the detail never carries a stack, key bytes, plaintext or a token.
public struct Problem: HTTPResponseError, Sendable, Equatable {
    public static let mediaType = "application/problem+json"
    /// How long a client should wait before retrying a KMS that did not answer.
    public static let retryAfterSeconds = 5

    public let status: HTTPResponse.Status
    public let code: String
    public let title: String
    public let detail: String
    /// Seconds, for `Retry-After` on 503.
    public let retryAfter: Int?

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.retryAfter = retryAfter
    }

    /// The problem type URI: a stable name per code, resolvable in the OpenAPI document's terms.
    public var type: String { "urn:cmkctl:problem:\(code)" }

    /// Maps any error a route throws to its problem; the only mapping of errors to statuses.
    public init(for error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as ServerError:
            switch error.code {
            case .unauthorized:
                self.init(status: .unauthorized, code: error.code.name, title: "Unauthorized", detail: error.message)
            case .payloadTooLarge:
                self.init(status: .contentTooLarge, code: error.code.name, title: "Payload too large", detail: error.message)
            case .invalidRequest:
                self.init(status: .badRequest, code: error.code.name, title: "Invalid request", detail: error.message)
            default:
                self = .internal
            }
        case let error as TenantError:
            switch error.code {
            case .invalidInput:
                self.init(status: .badRequest, code: ServerError.Code.invalidRequest.name, title: "Invalid request", detail: error.message)
            case .tenantUnknown:
                self.init(status: .notFound, code: error.code.name, title: "Unknown tenant", detail: error.message)
            case .tenantSuspended:
                self.init(status: .forbidden, code: error.code.name, title: "Tenant suspended", detail: error.message)
            case .decryptFailed:
                self.init(status: .unprocessableContent, code: error.code.name, title: "Decrypt failed", detail: error.message)
            case .unauthorized:
                self.init(status: .unauthorized, code: error.code.name, title: "Unauthorized", detail: error.message)
            case .storeFailure:
                self.init(status: .serviceUnavailable, code: "store-unavailable", title: "Store unavailable",
                          detail: "the tenant store did not answer; retry later", retryAfter: Self.retryAfterSeconds)
            default:
                self = .internal
            }
        case let error as KMSError:
            switch error.code.failureClass {
            case .transient:
                self.init(status: .serviceUnavailable, code: "kms-unavailable", title: "KMS unavailable",
                          detail: "the KMS did not answer (\(error.code)); retry later", retryAfter: Self.retryAfterSeconds)
            case .revocation:
                self.init(status: .forbidden, code: "key-revoked", title: "Key revoked",
                          detail: "the tenant's key refused the operation (\(error.code)): the customer disabled or revoked it")
            case .misconfiguration:
                self = .internal
            }
        case let error as EnvelopeError where error.code == .invalidArgument:
            self.init(status: .badRequest, code: ServerError.Code.invalidRequest.name, title: "Invalid request", detail: error.message)
        case let error as HTTPError:
            // Hummingbird's own: no such route, a method the route does not take.
            let code = error.status == .notFound ? "not-found" : error.status == .methodNotAllowed ? "method-not-allowed" : "invalid-request"
            if error.status.code >= 500 {
                self = .internal
            } else {
                self.init(status: error.status, code: code, title: error.status.reasonPhrase, detail: error.status.reasonPhrase.lowercased())
            }
        default:
            self = .internal
        }
    }

    /// What every unexpected failure looks like from outside: nothing about its cause.
    public static let `internal` = Problem(status: .internalServerError, code: "internal", title: "Internal error",
                                           detail: "the sidecar failed unexpectedly; its log has the details")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = Self.mediaType
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
    }

    /// The JSON document, keys sorted so responses are stable.
    public var document: [UInt8] {
        let object: [String: Any] = ["type": type, "title": title, "status": Int(status.code), "detail": detail, "code": code]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data) + [0x0A]
    }
}
