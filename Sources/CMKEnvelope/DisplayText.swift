/// Bytes from a user (context keys and values, arguments) made safe to name in an error line.
///
/// Control and formatting characters (which could rewrite a terminal line or reorder text) and bytes
/// that are not UTF-8 are written as escapes, so the operator sees exactly which bytes were refused.
public enum DisplayText {
    /// `bytes` in double quotes: printable UTF-8 as it is; `"` and `\` escaped; newline, tab and
    /// carriage return as `\n`, `\t`, `\r`; other control or format characters as `\u{…}`; bytes that
    /// are not part of valid UTF-8 as `\xNN`.
    public static func quoted(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var out = "\""
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(leading: bytes[index])
            if length > 0, index + length <= bytes.count,
               let text = String(validating: bytes[index..<(index + length)], as: UTF8.self),
               let scalar = text.unicodeScalars.first {
                out += escaped(scalar)
                index += length
            } else {
                out += "\\x" + hex(bytes[index])
                index += 1
            }
        }
        return out + "\""
    }

    /// `text` in double quotes, with the same escapes as `quoted(_:)` for bytes.
    public static func quoted(_ text: String) -> String {
        quoted(Array(text.utf8))
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\"": return "\\\""
        case "\\": return "\\\\"
        case "\n": return "\\n"
        case "\t": return "\\t"
        case "\r": return "\\r"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned:
                return "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default:
                return String(scalar)
            }
        }
    }

    /// How many bytes a UTF-8 sequence starting with `byte` has; 0 when no sequence starts with it.
    private static func sequenceLength(leading byte: UInt8) -> Int {
        switch byte {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
