import AsyncHTTPClient
import CMKKMS
import CMKTesting
import Foundation
import Testing

/// The one key ARN grammar: what passes, what is refused (and how the refusal reads), and that no
/// region outside it ever becomes an endpoint host.
@Suite struct KeyARNTests {
    static let uuid = "1234abcd-12ab-34cd-56ef-1234567890ab"
    static let mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"

    @Test(arguments: [
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)", "aws", "us-east-1"),
        ("arn:aws:kms:eu-central-2:111122223333:key/\(uuid)", "aws", "eu-central-2"),
        ("arn:aws:kms:ap-southeast-1:000000000000:key/\(mrk)", "aws", "ap-southeast-1"),
        ("arn:aws-cn:kms:cn-north-1:111122223333:key/\(uuid)", "aws-cn", "cn-north-1"),
        ("arn:aws-cn:kms:cn-northwest-1:111122223333:key/\(mrk)", "aws-cn", "cn-northwest-1"),
        ("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/\(uuid)", "aws-us-gov", "us-gov-west-1"),
        ("arn:aws:kms:local:000000000000:key/\(uuid)", "aws", "local"),
    ])
    func validKeyARNsParse(text: String, partition: String, region: String) throws {
        let arn = try KeyARN(validating: text)
        #expect(arn.partition == partition)
        #expect(arn.region == region)
        #expect(!arn.isAlias)
        #expect(arn.description == text)
    }

    @Test(arguments: [
        "arn:aws:kms:us-east-1:111122223333:alias/tenant-a",
        "arn:aws:kms:local:000000000000:alias/cmkctl-provider",
        "arn:aws:kms:eu-west-1:111122223333:alias/Team_1/prod-key",
    ])
    func aliasARNsPassOnlyWhereAllowed(text: String) throws {
        #expect(try KeyARN(validating: text, allowAlias: true).isAlias)
        let error = #expect(throws: KMSError.self) { try KeyARN(validating: text) }
        #expect(error?.code == .invalidKeyARN)
        #expect(error?.message.contains("alias ARN") == true)
    }

    static let key = "key/\(uuid)"

    /// Each refused text and a fragment of the message that names what is wrong.
    @Test(arguments: [
        ("", "expected arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"),
        (uuid, "expected arn:aws:kms"),
        ("arn:aws:kms:us-east-1:111122223333", "expected arn:aws:kms"),
        ("ARN:aws:kms:us-east-1:111122223333:\(key)", "expected arn:aws:kms"),
        ("arn:aws:s3:us-east-1:111122223333:\(key)", "the service must be kms"),
        ("arn:evil:kms:us-east-1:111122223333:\(key)", "the partition must be"),
        ("arn::kms:us-east-1:111122223333:\(key)", "the partition must be"),
        ("arn:aws-iso:kms:us-iso-east-1:111122223333:\(key)", "the partition must be"),
        ("arn:aws:kms:x@127.0.0.1#:111122223333:\(key)", "the region \"x@127.0.0.1#\""),
        ("arn:aws:kms:evil.example.com/:111122223333:\(key)", "the region"),
        ("arn:aws:kms:US-EAST-1:111122223333:\(key)", "the region"),
        ("arn:aws:kms::111122223333:\(key)", "the region"),
        ("arn:aws:kms:us-east:111122223333:\(key)", "the region"),
        ("arn:aws:kms:useast-1:111122223333:\(key)", "the region"),
        ("arn:aws:kms:u-east-1:111122223333:\(key)", "the region"),
        ("arn:aws:kms:us-east-12:111122223333:\(key)", "the region"),
        ("arn:aws:kms:us--1:111122223333:\(key)", "the region"),
        ("arn:aws:kms:us-east-1 :111122223333:\(key)", "the region"),
        ("arn:aws:kms:cn-north-1:111122223333:\(key)", "not in partition aws"),
        ("arn:aws-cn:kms:us-east-1:111122223333:\(key)", "not in partition aws-cn"),
        ("arn:aws-us-gov:kms:local:000000000000:\(key)", "not in partition aws-us-gov"),
        ("arn:aws:kms:us-east-1:1:\(key)", "the account must be 12 digits"),
        ("arn:aws:kms:us-east-1:1111222233334:\(key)", "the account must be 12 digits"),
        ("arn:aws:kms:us-east-1:11112222333a:\(key)", "the account must be 12 digits"),
        ("arn:aws:kms:us-east-1::\(key)", "the account must be 12 digits"),
        ("arn:aws:kms:us-east-1:١١١١٢٢٢٢٣٣٣٣:\(key)", "the account must be 12 digits"),
        ("arn:aws:kms:us-east-1:111122223333:alias/acme", "alias ARN"),
        ("arn:aws:kms:us-east-1:111122223333:key/", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/../x", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/../../\(uuid)", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)#frag", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)?x=1", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid) ", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)\n", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)\u{1B}[32m", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\u{0}\(uuid)", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12AB-34CD-56EF-1234567890AB", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd12ab34cd56ef1234567890ab", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890a", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890abc", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcg-12ab-34cd-56ef-1234567890ab", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890a", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890abc", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234ABCD12AB34CD56EF1234567890AB", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid):extra", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:keys/\(uuid)", "the resource must be key/KEY-ID"),
        ("arn:aws:kms:us-east-1:111122223333:\(uuid)", "the resource must be key/KEY-ID"),
        ("arn:aws:kms:us-east-1:111122223333:key/\(uuid)" + String(repeating: "a", count: 2100), "longer than 2048 bytes"),
    ])
    func malformedARNsAreRefusedNamingThePart(text: String, problem: String) {
        let error = #expect(throws: KMSError.self) { try KeyARN(validating: text) }
        #expect(error?.code == .invalidKeyARN)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
        // The message quotes the text, never its control characters.
        #expect(error?.message.containsControlCharacters == false)
    }

    @Test(arguments: [
        "arn:aws:kms:us-east-1:111122223333:alias/",
        "arn:aws:kms:us-east-1:111122223333:alias/a b",
        "arn:aws:kms:us-east-1:111122223333:alias/a#b",
        "arn:aws:kms:us-east-1:111122223333:alias/a.b",
        "arn:aws:kms:us-east-1:111122223333:alias/a\n",
        "arn:aws:kms:us-east-1:111122223333:alias/" + String(repeating: "a", count: 257),
    ])
    func malformedAliasARNsAreRefusedEvenWhereAliasesAreAllowed(text: String) {
        let error = #expect(throws: KMSError.self) { try KeyARN(validating: text, allowAlias: true) }
        #expect(error?.code == .invalidKeyARN)
        #expect(error?.message.contains("alias name") == true)
    }

    @Test func longTextIsCutInTheMessage() {
        let text = "arn:aws:kms:us-east-1:111122223333:key/" + String(repeating: "z", count: 4000)
        let error = #expect(throws: KMSError.self) { try KeyARN(validating: text) }
        #expect((error?.message.count ?? .max) < 400)
    }

    @Test func theLocalKMSMakesARNsThatPassTheGrammar() async throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kms = try LocalKMS(path: directory + "/kms.json", createIfMissing: true)
        for _ in 0..<8 {
            let key = try await kms.createKey(description: "k", policy: nil)
            let arn = try KeyARN(validating: key.arn)
            #expect(arn.region == LocalKMS.defaultRegion && arn.account == LocalKMS.defaultAccount && arn.resourceID == key.keyID)
        }
        #expect(throws: KMSError.self) { try KeyARN(region: "x@evil#", account: LocalKMS.defaultAccount, keyID: Self.uuid) }
    }

    // MARK: regions and endpoints

    @Test(arguments: ["us-east-1", "eu-west-3", "ap-northeast-2", "us-gov-east-1", "cn-northwest-1", "il-central-1", "local"])
    func regionsUnderTheGrammar(region: String) {
        #expect(KeyARN.isValidRegion(region))
    }

    @Test(arguments: ["", "x@127.0.0.1#", "us-east-1.evil.com", "US-EAST-1", "us-east", "us-east-10", "us_east_1", "localhost", "us-east-1/", "us-east-1\n"])
    func regionsOutsideTheGrammar(region: String) {
        #expect(!KeyARN.isValidRegion(region))
        #expect(throws: KMSError.self) { try KeyARN.validatedRegion(region) }
    }

    @Test func endpointsComeOnlyFromValidRegionsOrConfiguration() async throws {
        try await TestSupport.withHTTPClient { http async throws in
            let kms = TestSupport.client(http, endpoints: ["eu-west-1": "http://127.0.0.1:1"])
            #expect(try kms.endpoint(forRegion: "us-east-1") == "https://kms.us-east-1.amazonaws.com")
            #expect(try kms.endpoint(forRegion: "cn-north-1") == "https://kms.cn-north-1.amazonaws.com.cn")
            #expect(try kms.endpoint(forRegion: "eu-west-1") == "http://127.0.0.1:1")
            let error = #expect(throws: KMSError.self) { try kms.endpoint(forRegion: "x@127.0.0.1#") }
            #expect(error?.code == .invalidKeyARN)
            #expect(throws: KMSError.self) { try kms.region(forKeyID: "arn:aws:kms:x@127.0.0.1#:111122223333:key/\(Self.uuid)") }
            // A bare key id or alias name takes the default region.
            #expect(try kms.region(forKeyID: Self.uuid) == "us-east-1")
            #expect(try kms.region(forKeyID: "alias/tenant-a") == "us-east-1")
        }
    }

    /// A malformed ARN or default region is refused before any connection: the listener, configured
    /// as the region's endpoint, is never contacted.
    @Test func aMalformedARNOrDefaultRegionNeverReachesTheNetwork() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        try await TestSupport.withHTTPClient { http async throws in
            let kms = TestSupport.client(http, endpoints: ["us-east-1": listener.url], timeout: .milliseconds(300))
            for keyID in ["arn:aws:kms:us-east-1:111122223333:key/../x", "arn:aws:kms:x@127.0.0.1#:111122223333:key/\(Self.uuid)"] {
                let error = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: keyID) }
                #expect(error?.code == .invalidKeyARN, "\(keyID): \(String(describing: error))")
            }
            let badDefault = AWSKMSClient(httpClient: http, credentials: TestSupport.anyCredentials,
                                          configuration: .init(defaultRegion: "x@127.0.0.1#", endpoints: ["us-east-1": listener.url]))
            let error = await #expect(throws: KMSError.self) { try await badDefault.describeKey(keyID: Self.uuid) }
            #expect(error?.code == .invalidKeyARN)
        }
    }

    // MARK: escaping

    @Test(arguments: [
        ("plain text", "plain text"),
        ("a\nb", "a\\nb"),
        ("tab\there\r", "tab\\there\\r"),
        ("\u{1B}[32mgreen", "\\u{1B}[32mgreen"),
        ("nul\u{0}del\u{7F}c1\u{9B}", "nul\\u{0}del\\u{7F}c1\\u{9B}"),
        ("rtl\u{202E}txt\u{2028}", "rtl\\u{202E}txt\\u{2028}"),
        ("ünïcödé ✓", "ünïcödé ✓"),
    ])
    func controlCharactersAreEscapedVisibly(raw: String, shown: String) {
        #expect(raw.escapingControlCharacters == shown)
        #expect(!raw.escapingControlCharacters.containsControlCharacters)
    }
}
