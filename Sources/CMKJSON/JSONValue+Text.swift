extension JSONValue {
    /// Compact JSON text with object members sorted by the UTF-8 bytes of their keys, so equal
    /// values always serialize to equal bytes: what journals store and KMS requests carry.
    public var jsonText: String {
        var writer = JSONTextWriter(pretty: false)
        writer.write(self, indent: 0)
        return writer.text
    }

    /// JSON indented by two spaces, object members in their order: for people, and files people read.
    public var prettyText: String {
        var writer = JSONTextWriter(pretty: true)
        writer.write(self, indent: 0)
        return writer.text
    }
}

/// Writes `JSONValue`s as UTF-8 into one buffer.
///
/// Hand-written because the journal serializes several values per state transition and
/// `JSONEncoder` was the largest cost of a transition in the benchmark.
struct JSONTextWriter {
    let pretty: Bool
    private var output: [UInt8] = []

    init(pretty: Bool) {
        self.pretty = pretty
        output.reserveCapacity(256)
    }

    var text: String { String(decoding: output, as: UTF8.self) }

    mutating func write(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements):
            guard !elements.isEmpty else { return append("[]") }
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                write(element, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            guard !object.isEmpty else { return append("{}") }
            output.append(UInt8(ascii: "{"))
            for (position, member) in (pretty ? object.members : object.membersSortedByKey).enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writeString(member.key)
                append(pretty ? ": " : ":")
                write(member.value, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "}"))
        }
    }

    private mutating func append(_ text: StaticString) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func newline(_ indent: Int) {
        guard pretty else { return }
        output.append(0x0A)
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    private mutating func writeNumber(_ number: Double) {
        if number.rounded() == number, abs(number) < 1e15 {
            // Integral numbers print without a fraction, as people wrote them.
            output.append(contentsOf: String(Int64(number)).utf8)
        } else if number.isFinite {
            // Swift's description is the shortest text that reads back to the same Double.
            output.append(contentsOf: number.description.utf8)
        } else {
            // JSON has no infinity or NaN; the parser never makes them, arithmetic might.
            append("null")
        }
    }

    /// A quoted string: quote, backslash and control characters escaped, every other byte as it is,
    /// so a key's exact bytes survive.
    private mutating func writeString(_ text: String) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20:
                append("\\u00")
                output.append(Self.hexDigits[Int(byte >> 4)])
                output.append(Self.hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
