import CMKKMS

/// Parses arbitrary text as a KMS key ARN. Placeholder until the strict parser lands (see report).
enum KeyARNHarness {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let arn = KeyARN(text) {
            require(arn.description == text, "a parsed ARN does not print as its text")
        }
    }
}
