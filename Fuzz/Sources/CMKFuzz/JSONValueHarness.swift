import CMKJSON
import Foundation

/// Parses arbitrary bytes as a JSON document, as KMS answers, key policies, signal payloads and
/// journals are read.
///
/// Properties: a refusal is a `JSONError` whose offset lies within the input and whose message reads
/// as prose; an accepted value writes (`jsonText`, `prettyText`) to text that reads back to an equal
/// value with the same canonical bytes; and Foundation's reader accepts what this one accepts.
enum JSONValueHarness {
    static func run(_ bytes: [UInt8]) {
        let value: JSONValue
        do {
            value = try JSONValue(utf8: bytes, limits: .shallow)
        } catch let error as JSONError {
            require((0...bytes.count).contains(error.offset), "refusal at byte \(error.offset) of \(bytes.count)")
            requireHumanMessage(error.message, "JSON")
            return
        } catch {
            require(false, "JSON reading threw a non-JSON error: \(type(of: error))")
            return
        }

        let canonical = value.jsonText
        for text in [canonical, value.prettyText] {
            do {
                let reread = try JSONValue(parsing: text, limits: .shallow)
                require(reread == value, "a value does not survive writing and reading back")
                require(reread.hashValue == value.hashValue, "equal values hash differently")
                require(reread.jsonText == canonical, "canonical text changes through a round trip")
            } catch {
                require(false, "text written by JSONValue is refused when read back: \(error)")
            }
        }

        let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        require(foundation != nil, "the strict JSON reader accepted text Foundation refuses")
    }
}
