import CMKEnvelope
import Foundation

/// Parses arbitrary bytes as an encryption context JSON file (`--context-file`).
///
/// Properties: a refusal is `invalidArgument` with a readable message; an accepted context writes
/// back (`jsonObject`) to text that parses to the same pairs, byte for byte; and what the strict
/// parser accepts Foundation's JSON parser accepts too, as an object holding every key.
enum ContextJSONHarness {
    static func run(_ bytes: [UInt8]) {
        let context: EncryptionContext
        do {
            context = try EncryptionContext(jsonObject: bytes)
        } catch let error as EnvelopeError {
            require(error.code == .invalidArgument, "context JSON refused with code \(error.code)")
            requireHumanMessage(error.message, "context JSON")
            return
        } catch {
            require(false, "context JSON threw a non-envelope error: \(type(of: error))")
            return
        }

        let written = context.jsonObject
        do {
            let reread = try EncryptionContext(jsonObject: Array(written.utf8))
            require(reread == context, "context JSON does not survive writing and reading back")
            require(reread.pairs.map(\.key.utf8).map(Array.init) == context.pairs.map(\.key.utf8).map(Array.init),
                    "context keys change bytes when written and read back")
        } catch {
            require(false, "context JSON written by jsonObject is refused when read back: \(error)")
        }

        let foundation = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        require(foundation != nil, "the strict context parser accepted text Foundation refuses as a JSON object")
        for pair in context.pairs {
            require(foundation?[pair.key] is String, "a context key Foundation does not see as a string member")
        }
    }
}
