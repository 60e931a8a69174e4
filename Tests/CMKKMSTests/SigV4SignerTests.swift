import CMKKMS
import Testing

/// The signer against the AWS SigV4 test suite's published requests and signatures
/// (`fixtures/sigv4/vectors.json`).
@Suite struct SigV4SignerTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let request: SigV4Signer.Request
        let canonicalRequest: String?
        let stringToSign: String?
        let authorization: String
        var testDescription: String { name }
    }

    static let suite: JSONValue = try! JSONValue(utf8: TestSupport.fixture("sigv4/vectors.json"))

    static let vectors: [Vector] = suite["vectors"]!.arrayValue!.map { v in
        func pairs(_ key: String) -> [(String, String)] {
            v[key]!.arrayValue!.map { ($0.arrayValue![0].stringValue!, $0.arrayValue![1].stringValue!) }
        }
        return Vector(
            name: v["name"]!.stringValue!,
            request: SigV4Signer.Request(method: v["method"]!.stringValue!, path: v["path"]!.stringValue!, query: pairs("query"),
                                         headers: pairs("headers"), body: Array(v["body"]!.stringValue!.utf8)),
            canonicalRequest: v["canonicalRequest"]?.stringValue, stringToSign: v["stringToSign"]?.stringValue,
            authorization: v["authorization"]!.stringValue!)
    }

    static let credentials = AWSCredentials(accessKeyID: suite["credentials"]!["accessKeyId"]!.stringValue!,
                                            secretAccessKey: suite["credentials"]!["secretAccessKey"]!.stringValue!)
    static let amzDate = suite["amzDate"]!.stringValue!
    let signer = SigV4Signer(region: "us-east-1", service: "service")

    @Test(arguments: vectors)
    func matchesPublishedSignature(_ vector: Vector) {
        let (canonical, _) = signer.canonicalRequest(vector.request)
        if let expected = vector.canonicalRequest { #expect(canonical == expected) }
        if let expected = vector.stringToSign { #expect(signer.stringToSign(canonicalRequest: canonical, amzDate: Self.amzDate) == expected) }
        #expect(signer.authorization(for: vector.request, credentials: Self.credentials, amzDate: Self.amzDate) == vector.authorization)
    }

    @Test func signAddsDateTokenAndAuthorization() {
        let request = SigV4Signer.Request(method: "POST", headers: [("Host", "example.amazonaws.com")], body: [])
        let temporary = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "token")
        let signed = signer.sign(request, credentials: temporary, amzDate: Self.amzDate)
        let names = signed.headers.map { $0.0.lowercased() }
        #expect(names.contains("x-amz-date"))
        #expect(names.contains("x-amz-security-token"))
        let authorization = signed.headers.first { $0.0 == "Authorization" }!.1
        #expect(authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
    }

    @Test func amzDateFormat() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_782_399.9)) == "20000228T235959Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 4_107_542_399)) == "21000228T235959Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 4_107_542_400)) == "21000301T000000Z")
    }

    /// The arithmetic agrees with Foundation's Gregorian calendar on instants across leap years and
    /// month ends (a step of 7 days 1 hour 1 minute 1 second walks every weekday, hour and minute).
    @Test func amzDateAgreesWithTheGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var instant: Int64 = 0
        while instant < 4_200_000_000 {
            let date = Date(timeIntervalSince1970: TimeInterval(instant))
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            #expect(SigV4Signer.amzDate(date) == expected)
            instant += 7 * 86_400 + 3661
        }
    }

    @Test func credentialsNeverPrintTheSecret() {
        let text = "\(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "very-secret", sessionToken: "tok"))"
        #expect(!text.contains("very-secret"))
        #expect(!text.contains("tok)"))
    }
}

import Foundation
