import Crypto
import Foundation

/// AWS Signature Version 4 for header-signed requests, as pure functions of the request, the
/// credentials and the signing time.
///
/// Kept free of I/O and clocks so that it is checked byte for byte against the AWS SigV4 test suite
/// (`fixtures/sigv4/`): a wrong signer still connects and then fails every call with a 403 that looks
/// exactly like a permissions problem, so it has to be pinned by vectors, not by a live server.
public struct SigV4Signer: Sendable {
    /// A request as the signer sees it: the header names keep their case for sending, and are
    /// lower-cased only for the canonical form.
    public struct Request: Sendable {
        public var method: String
        /// The absolute path, already URI-encoded as it will go on the wire (`/` for KMS).
        public var path: String
        /// Query parameters, unencoded; the signer encodes and sorts them.
        public var query: [(String, String)]
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(method: String, path: String = "/", query: [(String, String)] = [], headers: [(String, String)], body: [UInt8]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    public let region: String
    public let service: String

    public init(region: String, service: String) {
        self.region = region
        self.service = service
    }

    /// `20150830T123600Z`, the form of the `X-Amz-Date` header.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ v: Int?, _ width: Int) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    /// Adds `X-Amz-Date` (and `X-Amz-Security-Token` for temporary credentials) and `Authorization`.
    public func sign(_ request: Request, credentials: AWSCredentials, amzDate: String) -> Request {
        var signed = request
        signed.headers.removeAll { ["authorization", "x-amz-date", "x-amz-security-token"].contains($0.0.lowercased()) }
        signed.headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken {
            signed.headers.append(("X-Amz-Security-Token", token))
        }
        signed.headers.append(("Authorization", authorization(for: signed, credentials: credentials, amzDate: amzDate)))
        return signed
    }

    /// The `Authorization` header value for a request that already carries its `X-Amz-Date`.
    public func authorization(for request: Request, credentials: AWSCredentials, amzDate: String) -> String {
        let (canonical, signedHeaders) = canonicalRequest(request)
        let toSign = stringToSign(canonicalRequest: canonical, amzDate: amzDate)
        let signature = self.signature(stringToSign: toSign, secretAccessKey: credentials.secretAccessKey, amzDate: amzDate)
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate: amzDate)), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// The canonical request and the `SignedHeaders` list; every header given is signed.
    public func canonicalRequest(_ request: Request) -> (String, String) {
        var grouped: [(String, [String])] = []
        for (name, value) in request.headers {
            let lower = name.lowercased()
            let trimmed = Self.collapseSpaces(value)
            if let i = grouped.firstIndex(where: { $0.0 == lower }) {
                grouped[i].1.append(trimmed)
            } else {
                grouped.append((lower, [trimmed]))
            }
        }
        grouped.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        let canonicalHeaders = grouped.map { "\($0.0):\($0.1.joined(separator: ","))\n" }.joined()
        let signedHeaders = grouped.map(\.0).joined(separator: ";")
        let query = request.query
            .map { (Self.uriEncode($0.0), Self.uriEncode($0.1)) }
            .sorted { $0.0 == $1.0 ? $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) : $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
        let payloadHash = Hex.encode(SHA256.hash(data: request.body))
        let canonical = [request.method, request.path.isEmpty ? "/" : request.path, query, canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    public func scope(amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        let hash = Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8)))
        return "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(amzDate: amzDate))\n\(hash)"
    }

    /// HMAC chain: secret → date → region → service → `aws4_request`, then over the string to sign.
    public func signature(stringToSign: String, secretAccessKey: String, amzDate: String) -> String {
        func hmac(_ key: [UInt8], _ data: String) -> [UInt8] {
            Array(HMAC<SHA256>.authenticationCode(for: Array(data.utf8), using: SymmetricKey(data: key)))
        }
        let kDate = hmac(Array("AWS4\(secretAccessKey)".utf8), String(amzDate.prefix(8)))
        let kRegion = hmac(kDate, region)
        let kService = hmac(kRegion, service)
        let kSigning = hmac(kService, "aws4_request")
        return Hex.encode(hmac(kSigning, stringToSign))
    }

    /// Trims and collapses runs of spaces, as the canonical header value requires.
    static func collapseSpaces(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in value.trimmingWhitespace() {
            if ch == " " || ch == "\t" {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(ch)
                lastWasSpace = false
            }
        }
        return out
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    public static func uriEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
