import CMKTesting
import Foundation
import Testing

/// `cmkctl webhooks issue-key | list | revoke-key` through the real binary.
@Suite struct WebhooksCLITests {
    @Test func aKeyIsPrintedOnceListedWithoutItselfAndRevoked() throws {
        let scratch = try Scratch()
        #expect(try CLIRunner.run(["tenants", "add", "--tenant", "acme", "--tag", "acme"], in: scratch.url).status == 0)
        let issued = try CLIRunner.run(["webhooks", "issue-key", "--tenant", "acme", "--json"], in: scratch.url)
        #expect(issued.status == 0, "\(issued.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: issued.stdout) as? [String: String])
        let key = try #require(object["key"]), id = try #require(object["id"])
        #expect(key.hasPrefix("cmkwh_") && key.count == 49 && id.hasPrefix("whk_"))

        let listed = try CLIRunner.run(["webhooks", "list"], in: scratch.url)
        #expect(listed.stdoutText.contains(id) && listed.stdoutText.contains("acme") && !listed.stdoutText.contains(key))
        for file in ["store.sqlite", "store.sqlite-wal"] {
            let stored = (try? String(contentsOf: scratch.url.appendingPathComponent(".cmkctl/" + file), encoding: .isoLatin1)) ?? ""
            #expect(!stored.contains(key), "the key itself must never be stored (\(file))")
        }

        #expect(try CLIRunner.run(["webhooks", "revoke-key", "--id", id], in: scratch.url).status == 0)
        #expect(try CLIRunner.run(["webhooks", "revoke-key", "--id", id], in: scratch.url).status == 67)
        #expect(try CLIRunner.run(["webhooks", "issue-key", "--tenant", "nobody"], in: scratch.url).status == 67)
        #expect(try CLIRunner.run(["webhooks", "issue-key", "--tenant", "../x"], in: scratch.url).status == 64)
    }
}
