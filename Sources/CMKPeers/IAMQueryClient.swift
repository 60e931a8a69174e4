import AsyncHTTPClient
import CMKKMS
import Foundation

/// Just enough of the IAM query API to set up moto's IAM users (tests and local demos only), signed with the project's SigV4
/// signer (service `iam`, region `us-east-1`).
public struct IAMQueryClient: Sendable {
    let http: HTTPClient
    let endpoint: String
    let credentials: AWSCredentials

    public init(http: HTTPClient, endpoint: String, credentials: AWSCredentials) {
        self.http = http
        self.endpoint = endpoint
        self.credentials = credentials
    }

    /// Sends `Action=...&...` and returns the XML answer; throws the classified error otherwise.
    public func call(_ action: String, _ parameters: [(String, String)]) async throws -> String {
        let pairs = [("Action", action), ("Version", "2010-05-08")] + parameters
        let body = Array(pairs.map { "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&").utf8)
        let url = URL(string: endpoint)!
        let unsigned = SigV4Signer.Request(method: "POST", path: "/", headers: [
            ("Host", "\(url.host!):\(url.port!)"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ], body: body)
        let signed = SigV4Signer(region: "us-east-1", service: "iam").sign(unsigned, credentials: credentials, amzDate: SigV4Signer.amzDate(Date()))
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let response = try await http.execute(request, timeout: .seconds(10))
        let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status.code < 300 else {
            throw KMSErrorClassifier().classify(status: Int(response.status.code), body: bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Creates a user with an inline policy and an access key; three IAM actions.
    public func createUser(_ name: String, policy: String) async throws -> AWSCredentials {
        try await createPrincipal(name, policy: policy).credentials
    }

    /// Like `createUser`, also returning the user's ARN, for key policies that name it.
    public func createPrincipal(_ name: String, policy: String) async throws -> (arn: String, credentials: AWSCredentials) {
        let created = try await call("CreateUser", [("UserName", name)])
        guard let arn = element("Arn", created) else { throw KMSError(.invalidRequest, "CreateUser answer without an Arn") }
        _ = try await call("PutUserPolicy", [("UserName", name), ("PolicyName", "\(name)-policy"), ("PolicyDocument", policy)])
        let answer = try await call("CreateAccessKey", [("UserName", name)])
        guard let id = element("AccessKeyId", answer), let secret = element("SecretAccessKey", answer) else {
            throw KMSError(.invalidRequest, "CreateAccessKey answer without a key")
        }
        return (arn, AWSCredentials(accessKeyID: id, secretAccessKey: secret))
    }

    private func element(_ name: String, _ xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }
}
