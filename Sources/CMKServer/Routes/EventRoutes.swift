import CMKTenant
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/events/kms`: the KMS event intake, for EventBridge API destinations (an API key in
/// `X-Cmk-Api-Key`) and Standard Webhooks senders (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). Not behind the bearer token: the sender proves itself with one of these.
///
/// Answers: 202 for an event accepted, ignored or seen before (EventBridge drops nothing it should
/// retry); 401 for a missing or wrong credential; 400 for a body that is not an event or is over
/// 1 MB; 503 with `Retry-After` only when the event cannot be recorded (EventBridge retries 5xx).
struct EventRoutes<Repository: TenantRepository>: Sendable {
    static var apiKeyHeader: HTTPField.Name { HTTPField.Name("X-Cmk-Api-Key")! }

    let intake: KMSEventIntake<Repository>

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("v1/events/kms") { request, _ in try await receive(request) }
    }

    func receive(_ request: Request) async throws -> Response {
        let credential: KMSEventIntake<Repository>.Credential
        if let key = request.headers[Self.apiKeyHeader] {
            credential = .apiKey(key)
        } else if let id = request.headers[HTTPField.Name("webhook-id")!] {
            credential = .signature(id: id, timestamp: request.headers[HTTPField.Name("webhook-timestamp")!],
                                    signature: request.headers[HTTPField.Name("webhook-signature")!])
        } else {
            throw ServerError(.unauthorized, "a KMS event needs an X-Cmk-Api-Key header or a Standard Webhooks signature")
        }
        let body = try await collect(request)
        let outcome: KMSEventIntake<Repository>.Outcome
        do {
            outcome = try await intake.receive(body: body, credential: credential)
        } catch let error as TenantError where error.code == .storeFailure {
            // Nothing was recorded: the sender must try again.
            throw Problem(status: .serviceUnavailable, code: "store-unavailable", title: "Store unavailable",
                          detail: "the event could not be recorded; retry later", retryAfter: Problem.retryAfterSeconds)
        }
        let document: [String: Any] =
            switch outcome {
            case .accepted(let tenants): ["outcome": "accepted", "tenants": tenants]
            case .ignored(let reason): ["outcome": "ignored", "reason": reason]
            case .repeated: ["outcome": "repeated"]
            }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return Response(status: .accepted, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func collect(_ request: Request) async throws -> [UInt8] {
        let limit = KMSEvent.maximumSize
        let refusal = ServerError(.invalidRequest, "the event is larger than \(limit) bytes")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw refusal }
        var collected: [UInt8] = []
        for try await buffer in request.body {
            guard collected.count + buffer.readableBytes <= limit else { throw refusal }
            collected += buffer.readableBytesView
        }
        return collected
    }
}
