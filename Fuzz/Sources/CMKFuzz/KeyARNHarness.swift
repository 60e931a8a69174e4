import CMKKMS

/// Parses arbitrary text as a KMS key or alias ARN with `KeyARN(validating:allowAlias:)`.
///
/// Properties: a refusal is `invalidKeyARN` with a readable one-line message (no control
/// characters from the input); an ARN that parses prints back (`description`) as exactly its text,
/// parses again to an equal value, rebuilds from its parts, and is an alias only when aliases were
/// allowed; whatever parses without aliases also parses with them.
enum KeyARNHarness {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let strict = parse(text, allowAlias: false)
        let lenient = parse(text, allowAlias: true)
        if let strict {
            require(lenient == strict, "an ARN valid without aliases is refused or different with them")
            require(!strict.isAlias, "an alias ARN passed without allowAlias")
            let rebuilt = try? KeyARN(region: strict.region, account: strict.account, keyID: strict.resourceID, partition: strict.partition)
            require(rebuilt == strict, "a key ARN does not rebuild from its parts")
        }
        if let arn = lenient {
            require(arn.description == text, "a parsed ARN does not print as its text")
            require(parse(arn.description, allowAlias: true) == arn, "a printed ARN parses to another value")
            require(arn.resource == (arn.isAlias ? "alias/" : "key/") + arn.resourceID, "resourceID loses part of the resource")
            require(KeyARN.isValidRegion(arn.region), "a parsed ARN has a region outside the grammar")
            require(arn.account.utf8.count == 12 && arn.account.utf8.allSatisfy { (0x30...0x39).contains($0) }, "account is not 12 digits")
        }
    }

    private static func parse(_ text: String, allowAlias: Bool) -> KeyARN? {
        do {
            return try KeyARN(validating: text, allowAlias: allowAlias)
        } catch let error as KMSError {
            require(error.code == .invalidKeyARN, "ARN refused with code \(error.code)")
            requireHumanMessage(error.message, "key ARN")
            require(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                    "an ARN error message carries a control character from the input")
            return nil
        } catch {
            require(false, "ARN parsing threw a non-KMS error: \(type(of: error))")
            return nil
        }
    }
}
