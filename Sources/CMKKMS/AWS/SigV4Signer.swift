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
    ///
    /// Plain arithmetic on the Unix time (the civil-from-days conversion of the proleptic Gregorian
    /// calendar), because a `Calendar` built per request cost more than the rest of the signing.
    public static func amzDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to year, month, day (Howard Hinnant's algorithm, eras of 400 years).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2) + pad(secondOfDay % 3600 / 60, 2)
            + pad(secondOfDay % 60, 2) + "Z"
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
