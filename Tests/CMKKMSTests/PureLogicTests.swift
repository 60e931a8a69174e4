import CMKBenchmarks
import CMKEnvelope
import CMKKMS
import Testing

/// ARNs, key specs, credentials files, JSON and health ranking: the pure parts, without I/O.
@Suite struct PureLogicTests {
    @Test func keyARN() throws {
        let arn = try KeyARN(validating: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        #expect(arn.region == "eu-west-1")
        #expect(arn.account == "111122223333")
        #expect(arn.resourceID == "1234abcd-12ab-34cd-56ef-1234567890ab")
        #expect(!arn.isAlias)
        #expect(try KeyARN(validating: "arn:aws:kms:eu-west-1:111122223333:alias/tenant", allowAlias: true).isAlias)
        #expect(throws: KMSError.self) { try KeyARN(validating: "1234abcd") }
        #expect(throws: KMSError.self) { try KeyARN(validating: "arn:aws:s3:::bucket") }
    }

    @Test func keySpecs() throws {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        #expect(try KMSKeySpec(parsing: "aws-kms:" + key) == .aws(arn: key))
        #expect(try KMSKeySpec(parsing: "local:tenant-a") == .local(keyID: "alias/tenant-a"))
        #expect(try KMSKeySpec(parsing: "raw-aes:name:file") == nil)
        #expect(throws: KMSError.self) { try KMSKeySpec(parsing: "aws-kms:alias/x") }
        let (region, url) = try KMSKeySpec.parseEndpointOverride("us-west-2=http://127.0.0.1:4566")
        #expect(region == "us-west-2" && url == "http://127.0.0.1:4566")
        #expect(throws: KMSError.self) { try KMSKeySpec.parseEndpointOverride("us-west-2") }
        // An endpoint without a host, or with a line break in it, is refused like one in operator.json.
        for text in ["us-west-2=http://", "us-west-2=https:///path", "us-west-2=http://h\nx", "us-west-2=ftp://h"] {
            #expect(throws: KMSError.self, "\(text)") { try KMSKeySpec.parseEndpointOverride(text) }
        }
    }

    @Test func credentialsFromEnvironmentFirst() {
        let env = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"]
        let credentials = AWSCredentialsResolver.fromEnvironment(env)
        #expect(credentials?.accessKeyID == "AKIDENV")
        #expect(credentials?.sessionToken == "t")
        #expect(AWSCredentialsResolver.fromEnvironment(["AWS_ACCESS_KEY_ID": "x"]) == nil)
    }

    @Test func sharedCredentialsFileProfiles() {
        let file = """
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = default-secret

        [profile tenant-ops]
        aws_access_key_id=AKIDOPS
        aws_secret_access_key=ops-secret
        aws_session_token = ops-token
        """
        #expect(AWSCredentialsResolver.fromSharedFile(file, profile: "default")?.accessKeyID == "AKIDDEFAULT")
        let ops = AWSCredentialsResolver.fromSharedFile(file, profile: "tenant-ops")
        #expect(ops?.accessKeyID == "AKIDOPS" && ops?.secretAccessKey == "ops-secret" && ops?.sessionToken == "ops-token")
        #expect(AWSCredentialsResolver.fromSharedFile(file, profile: "missing") == nil)
        #expect(AWSCredentialsResolver(environment: ["AWS_PROFILE": "tenant-ops"]).profile == "tenant-ops")
    }

    @Test func jsonKeepsCanonicallyEquivalentKeysApart() throws {
        // "é" precomposed and decomposed are equal as Swift Strings but distinct context keys.
        let context = try EncryptionContext([("caf\u{E9}", "1"), ("cafe\u{301}", "2")])
        let json = JSONValue.object(JSONObject(context.pairs.map { ($0.key, .string($0.value)) }))
        let parsed = try JSONValue(parsing: json.jsonText)
        #expect(parsed.objectValue?.count == 2)
        #expect(parsed == json)
        #expect(try JSONValue(parsing: #"{"a":[1,true,null,"\u00e9\n"]}"#)["a"]?.arrayValue?.count == 4)
    }

    @Test func healthRankingMovesAwayFromFailingRegion() {
        var table = RegionHealthTable()
        #expect(table.ranked(["us-east-1", "us-west-2"]) == ["us-east-1", "us-west-2"])
        table.record(region: "us-east-1", latency: .milliseconds(5), succeeded: true)
        table.record(region: "us-west-2", latency: .milliseconds(8), succeeded: true)
        #expect(table.ranked(["us-west-2", "us-east-1"]) == ["us-east-1", "us-west-2"])
        table.record(region: "us-east-1", latency: .milliseconds(2), succeeded: false)
        #expect(table.ranked(["us-east-1", "us-west-2"]) == ["us-west-2", "us-east-1"])
        // Recovery: a run of fast successes brings it back.
        for _ in 0..<25 { table.record(region: "us-east-1", latency: .milliseconds(3), succeeded: true) }
        #expect(table.ranked(["us-west-2", "us-east-1"]) == ["us-east-1", "us-west-2"])
    }

    @Test func slowRegionRanksBelowFastOne() {
        var table = RegionHealthTable()
        table.record(region: "a", latency: .milliseconds(300), succeeded: true)
        table.record(region: "b", latency: .milliseconds(20), succeeded: true)
        #expect(table.ranked(["a", "b"]) == ["b", "a"])
        #expect(table.health(of: "a").successes == 1)
    }

    @Test func probeVerdictsAndExitCodes() {
        #expect(ProbeVerdict(.denied) == .denied)
        #expect(ProbeVerdict(.invalidCiphertext) == .misconfigured)
        #expect(ProbeVerdict.ok.exitCode == 0)
        #expect(Set(ProbeVerdict.allCases.map(\.exitCode)).count == ProbeVerdict.allCases.count)
        #expect([ProbeVerdict.ok, .unreachable, .denied, .disabled].max() == .denied)
    }

    @Test func latencySummary() {
        let summary = LatencySummary((1...100).map { .milliseconds($0) })
        #expect(summary.p50 == 50)
        #expect(summary.p99 == 99)
        #expect(summary.max == 100)
    }
}
