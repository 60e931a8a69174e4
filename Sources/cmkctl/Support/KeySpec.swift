import ArgumentParser
import CMKEnvelope
import Crypto
import Foundation

/// A `--key` argument: which wrapping key to use and where it lives.
enum KeySpec: Equatable {
    /// `raw-aes:NAMESPACE/NAME=PATH`: a raw AES wrapping key read from a file of 16, 24 or 32 bytes.
    case rawAES(namespace: String, name: String, path: String)

    static let help = "raw-aes:NAMESPACE/NAME=PATH (PATH holds 16, 24 or 32 raw key bytes)"

    init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw ValidationError("--key \(text): expected SCHEME:VALUE, e.g. \(Self.help)")
        }
        let scheme = text[..<colon]
        let value = text[text.index(after: colon)...]
        switch scheme {
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

    /// Builds the keyring this spec names.
    func makeKeyring() throws -> any Keyring {
        switch self {
        case .rawAES(let namespace, let name, let path):
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw CommandFailure(status: .noInput, message: "cannot read the wrapping key file \(path)")
            }
            guard [16, 24, 32].contains(bytes.count) else {
                throw CommandFailure(status: .usage, message: "wrapping key file \(path) holds \(bytes.count) bytes; a raw AES key is 16, 24 or 32 bytes")
            }
            return try RawAESKeyring(namespace: namespace, name: name, wrappingKey: SymmetricKey(data: bytes))
        }
    }

    /// One keyring for all specs: the first generates the data key, every one wraps it, any one unwraps it.
    static func keyring(for specs: [KeySpec]) throws -> any Keyring {
        let keyrings = try specs.map { try $0.makeKeyring() }
        guard let first = keyrings.first else { throw ValidationError("at least one --key is required") }
        if keyrings.count == 1 { return first }
        return try MultiKeyring(generator: first, children: Array(keyrings.dropFirst()))
    }
}
