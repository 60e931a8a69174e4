import CMKKMS

/// Parses arbitrary text as a KMS key or alias ARN (`--key aws-kms:ARN`, the tenant's key).
///
/// Written against `KeyARN.init?(_:)`; properties: an ARN that parses prints back (`description`)
/// as exactly the text it came from, parses again to an equal value, and says it is an alias
/// exactly when its resource is `alias/…`.
enum KeyARNHarness {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let arn = KeyARN(text) else { return }
        require(arn.description == text, "a parsed ARN does not print as its text")
        require(KeyARN(arn.description) == arn, "a printed ARN parses to another value")
        require(arn.isAlias == arn.resource.hasPrefix("alias/"), "isAlias disagrees with the resource")
        require(arn.resource == (arn.isAlias ? "alias/" : "key/") + arn.resourceID, "resourceID loses part of the resource")
    }
}
