import CMKTenant
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/health/live` (the process answers), `/health/ready` (every readiness check passes),
/// `/metrics` and `/openapi.json`: the operator's routes, without a token.
struct OperatorRoutes: Sendable {
    let readinessChecks: [ReadinessCheck]
    let metrics: SidecarMetrics
    let cryptoMetrics: @Sendable () async -> TenantCryptoMetrics

    func addHealth<Context: RequestContext>(to router: Router<Context>) {
        router.get("health/live") { _, _ in Self.json(["status": "live"], status: .ok) }
        router.get("health/ready") { _, context in await ready(logger: context.logger) }
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let text = metrics.render(await cryptoMetrics())
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    static func addDocument<Context: RequestContext>(to router: Router<Context>) {
        router.get("openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes())))
        }
    }

    /// Runs every check; 503 when one fails, naming it but not its error (the log has that).
    func ready(logger: Logger) async -> Response {
        var results: [String: String] = [:]
        for check in readinessChecks {
            do {
                try await check.check()
                results[check.name] = "ok"
            } catch {
                logger.warning("readiness check failed", metadata: ["check": "\(check.name)", "error": "\(error)"])
                results[check.name] = "failed"
            }
        }
        let ready = results.values.allSatisfy { $0 == "ok" }
        let body: [String: Any] = ["status": ready ? "ready" : "not-ready", "checks": results]
        return Self.json(body, status: ready ? .ok : .serviceUnavailable)
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data) + [0x0A])))
    }
}
