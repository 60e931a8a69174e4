/// Compact JSON serialization of `JSONValue` with sorted keys.
///
/// Hand-written because the journal serializes several values per state transition and
/// `JSONEncoder` was the largest cost of a transition in the benchmark.
struct JSONWriter {
    private(set) var output = ""

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                write(element)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                writeString(key)
                output += ":"
                write(members[key]!)
            }
            output += "}"
        }
    }

    private mutating func writeNumber(_ number: Double) {
        if number.rounded() == number, abs(number) < 1e15 {
            output += String(Int64(number))
        } else if number.isFinite {
            // Swift's description is the shortest representation that reads back to the same Double.
            output += "\(number)"
        } else {
            output += "null"
        }
    }

    private mutating func writeString(_ text: String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
