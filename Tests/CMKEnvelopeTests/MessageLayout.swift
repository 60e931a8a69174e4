@testable import CMKEnvelope

/// Where each structural piece of a v2 framed message lies, found by walking it independently of
/// the decryptor, so tamper tests can aim at every field and boundary.
struct MessageLayout {
    struct Field {
        let name: String
        let range: Range<Int>
    }

    private(set) var fields: [Field] = []
    /// Byte offsets where one structural piece ends and the next begins.
    var boundaries: [Int] { fields.map(\.range.upperBound) }
    /// Ranges of whole frames (regular and final), in order.
    private(set) var frames: [Range<Int>] = []

    init(_ message: [UInt8], signed: Bool) {
        var offset = 0
        func take(_ name: String, _ count: Int) -> Range<Int> {
            let range = offset..<(offset + count)
            fields.append(Field(name: name, range: range))
            offset += count
            return range
        }
        func u16(_ range: Range<Int>) -> Int { Int(message[range.lowerBound]) << 8 | Int(message[range.lowerBound + 1]) }
        func u32(_ range: Range<Int>) -> Int { range.reduce(0) { $0 << 8 | Int(message[$1]) } }

        _ = take("version", 1)
        _ = take("suite id", 2)
        _ = take("message id", 32)
        let aadLength = u16(take("context length", 2))
        if aadLength > 0 {
            let pairCount = u16(take("context pair count", 2))
            for index in 0..<pairCount {
                _ = take("context key \(index)", u16(take("context key length \(index)", 2)))
                _ = take("context value \(index)", u16(take("context value length \(index)", 2)))
            }
        }
        let keyCount = u16(take("encrypted data key count", 2))
        for index in 0..<keyCount {
            _ = take("provider id \(index)", u16(take("provider id length \(index)", 2)))
            _ = take("provider info \(index)", u16(take("provider info length \(index)", 2)))
            _ = take("encrypted data key \(index)", u16(take("encrypted data key length \(index)", 2)))
        }
        _ = take("content type", 1)
        let frameLength = u32(take("frame length", 4))
        _ = take("commitment", 32)
        _ = take("header tag", 16)
        var sequence = 1
        while true {
            let start = offset
            let marker = u32(take("frame \(sequence) marker", 4))
            if marker == 0xFFFF_FFFF {
                _ = take("final frame sequence number", 4)
                _ = take("final frame IV", 12)
                let length = u32(take("final frame content length", 4))
                _ = take("final frame content", length)
                _ = take("final frame tag", 16)
                frames.append(start..<offset)
                break
            }
            _ = take("frame \(sequence) IV", 12)
            _ = take("frame \(sequence) content", frameLength)
            _ = take("frame \(sequence) tag", 16)
            frames.append(start..<offset)
            sequence += 1
        }
        if signed {
            _ = take("signature", u16(take("signature length", 2)))
        }
        precondition(offset == message.count, "layout walk did not end at the message end")
    }
}
