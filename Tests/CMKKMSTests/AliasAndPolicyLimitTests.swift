import CMKKMS
import Foundation
import Testing

/// Alias names follow AWS KMS's grammar and key policies its 32 KB limit, in the local KMS too.
@Suite struct AliasAndPolicyLimitTests {
    let path = TestSupport.temporaryDirectory() + "/kms/local-kms.json"

    @Test(arguments: [("acme", "alias/acme"), ("alias/team/acme_1-a", "alias/team/acme_1-a"), ("AWSish", "alias/AWSish")])
    func aliasesWithinTheGrammarAreNormalized(text: String, expected: String) throws {
        #expect(try AliasName.normalized(text) == expected)
    }

    @Test(arguments: ["../../x", "alias/../x", "a.b", "aws/x", "alias/aws/x", "a//b", "/a", "a/", "", "alias/", "a b", "a\u{0}",
                      String(repeating: "a", count: 251)])
    func aliasesOutsideTheGrammarAreRefused(text: String) async throws {
        let error = #expect(throws: KMSError.self) { try AliasName.normalized(text) }
        #expect(error?.code == .invalidRequest)
        let kms = try LocalKMS(path: path, createIfMissing: true)
        await #expect(throws: KMSError.self) { try await kms.createKey(description: "", policy: nil, alias: text) }
        #expect(await kms.listKeys().isEmpty)
    }

    @Test func theLocalKMSRefusesPoliciesOverThirtyTwoKilobytes() async throws {
        let kms = try LocalKMS(path: path, createIfMissing: true)
        let key = try await kms.createKey(description: "", policy: nil, alias: "acme")
        let policy = #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#
        let fits = policy + String(repeating: " ", count: KeyPolicyLimit.maxBytes - policy.utf8.count)
        try await kms.putKeyPolicy(keyID: key.arn, policy: fits)
        let error = await #expect(throws: KMSError.self) { try await kms.putKeyPolicy(keyID: key.arn, policy: fits + " ") }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("limited to 32768 bytes") == true)
        #expect(try await kms.getKeyPolicy(keyID: key.arn) == fits)
        await #expect(throws: KMSError.self) { try await kms.createKey(description: "", policy: fits + " ") }
    }
}
