import AsyncHTTPClient
import CMKTenant
import Foundation

/// Posts operator notices over HTTP with AsyncHTTPClient's shared client (ten seconds per attempt;
/// the workflow retries).
enum NotificationTransport {
    static let http: OperatorNotifier.Transport = { url, headers, body in
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        // The receiver's answer is not read beyond its status; a large one is not buffered.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}
