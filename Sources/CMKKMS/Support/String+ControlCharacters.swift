/// Printing text that came from outside (ARNs, operator names, tenant ids, KMS error messages,
/// policy text) without letting it steer the terminal or forge lines.
extension String {
    /// The text with every control character written as a visible escape: `\n`, `\r`, `\t`, and
    /// `\u{1B}` for the rest of C0, DEL, C1, the line and paragraph separators and the bidirectional
    /// overrides. A newline could forge a line of a table, an escape sequence recolour or erase one.
    public var escapingControlCharacters: String {
        guard containsControlCharacters else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.isControlForDisplay: escaped += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Whether printing the text as is could move the cursor, start an escape sequence or reorder it.
    public var containsControlCharacters: Bool {
        unicodeScalars.contains(where: \.isControlForDisplay)
    }
}

extension Unicode.Scalar {
    /// C0 (with tab and newline), DEL, C1, U+2028/U+2029, and the bidirectional marks and overrides.
    var isControlForDisplay: Bool {
        switch value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x2028, 0x2029: true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
