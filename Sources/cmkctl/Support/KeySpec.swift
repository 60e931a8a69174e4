import ArgumentParser
import CMKEnvelope
import CMKKMS
import Crypto
import Foundation

/// A `--key` argument: which wrapping key to use and where it lives.
enum KeySpec: Equatable {
    /// `raw-aes:NAMESPACE/NAME=PATH`: a raw AES wrapping key read from a file of 16, 24 or 32 bytes.
    case rawAES(namespace: String, name: String, path: String)
    /// `aws-kms:ARN` or `local:ALIAS-OR-ARN`: a KMS key (AWS or the local file-backed KMS).
    case kms(KMSKeySpec)

    static let help = "raw-aes:NAMESPACE/NAME=PATH (PATH holds 16, 24 or 32 raw key bytes), aws-kms:KEY-ARN, or local:ALIAS-OR-ARN"

    init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw ValidationError("--key \(text): expected SCHEME:VALUE, e.g. \(Self.help)")
        }
        let scheme = text[..<colon]
        let value = text[text.index(after: colon)...]
        switch scheme {
        case "aws-kms", "local":
            do {
                guard let spec = try KMSKeySpec(parsing: text) else { throw ValidationError("--key \(text): expected \(Self.help)") }
                self = .kms(spec)
            } catch let error as KMSError {
                throw ValidationError("--key \(error.message)")
            }
        case "raw-aes":
            guard let equals = value.firstIndex(of: "="), let slash = value[..<equals].firstIndex(of: "/") else {
                throw ValidationError("--key \(text): expected \(Self.help)")
            }
            let namespace = String(value[..<slash])
            let name = String(value[value.index(after: slash)..<equals])
            let path = String(value[value.index(after: equals)...])
            guard !namespace.isEmpty, !name.isEmpty, !path.isEmpty else {
                throw ValidationError("--key \(text): namespace, name and path must not be empty")
            }
            self = .rawAES(namespace: namespace, name: name, path: path)
        default:
            throw ValidationError("--key \(text): unknown key scheme \"\(scheme)\"; supported: \(Self.help)")
        }
    }

    /// Builds the keyring this spec names; KMS keys get their client from `kms`, and a local alias is
    /// resolved to its key ARN first, because decrypt matches the ARN stored in the message.
    func makeKeyring(kms: KMSClientFactory) async throws -> any Keyring {
        switch self {
        case .kms(let spec):
            let (client, keyID) = try kms.client(for: spec)
            // A local alias is resolved to its key ARN, which must itself pass the grammar.
            let arn = KeyARN.looksLikeARN(keyID) ? keyID : try KeyARN(validating: try await client.describeKey(keyID: keyID).arn).description
            return KMSKeyring(client: client, generatorKeyID: arn)
        case .rawAES(let namespace, let name, let path):
            let bytes: Data
            do {
                bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw CommandFailure(status: .noInput, message: "cannot read the wrapping key file \(path): \(ErrorSentence.reason(error))")
            }
            guard [16, 24, 32].contains(bytes.count) else {
                throw CommandFailure(status: .usage, message: "wrapping key file \(path) holds \(bytes.count) bytes; a raw AES key is 16, 24 or 32 bytes")
            }
            return try RawAESKeyring(namespace: namespace, name: name, wrappingKey: SymmetricKey(data: bytes))
        }
    }

    /// One keyring for all specs: the first generates the data key, every one wraps it, any one unwraps it.
    ///
    /// `aws-kms:` keys in two or more regions form one multi-region key set instead (parallel wrap
    /// with a minimum, health-ranked hedged decrypt), placed where the first of them was.
    static func keyring(for specs: [KeySpec], kms: KMSClientFactory) async throws -> any Keyring {
        guard !specs.isEmpty else { throw ValidationError("at least one --key is required") }
        let awsARNs = specs.compactMap { spec -> String? in
            if case .kms(.aws(let arn)) = spec { return arn }
            return nil
        }
        let regions = Set(try awsARNs.map { try KeyARN(validating: $0).region })
        var keyrings: [any Keyring] = []
        var addedKeySet = false
        for spec in specs {
            if regions.count >= 2, case .kms(.aws) = spec {
                guard !addedKeySet else { continue }
                addedKeySet = true
                let client = try kms.awsClient(defaultRegion: try KeyARN(validating: awsARNs[0]).region)
                keyrings.append(MultiRegionKeyring(keys: awsARNs.map { RegionalKey(keyARN: $0, client: client) }, configuration: kms.multiRegion,
                                                   onReport: { report in
                    guard !report.missingRegions.isEmpty else { return }
                    let missing = report.missingRegions.map { "\($0.region) (\($0.code))" }.joined(separator: ", ")
                    FileHandle.standardError.write(Data("cmkctl: warning: the message is not wrapped in: \(missing)\n".utf8))
                }))
                continue
            }
            keyrings.append(try await spec.makeKeyring(kms: kms))
        }
        let first = keyrings[0]
        if keyrings.count == 1 { return first }
        return try MultiKeyring(generator: first, children: Array(keyrings.dropFirst()))
    }
}
