/// Why a message failed to parse; internal, because callers only ever see `EnvelopeError.decryptFailed`.
struct MessageFormatError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Signals that a parse ran out of bytes and may succeed once more arrive (streaming input).
struct NeedMoreBytes: Error {}

/// A cursor over received bytes that checks every length against what remains.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private(set) var offset: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.offset = bytes.startIndex
    }

    init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    var remaining: Int { bytes.endIndex - offset }
    var isAtEnd: Bool { offset == bytes.endIndex }
    /// How many bytes were consumed since the start.
    var consumed: Int { offset - bytes.startIndex }

    mutating func readBytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0 else { throw MessageFormatError("negative length") }
        guard count <= remaining else { throw NeedMoreBytes() }
        let slice = bytes[offset..<(offset + count)]
        offset += count
        return slice
    }

    mutating func readUInt8() throws -> UInt8 {
        try readBytes(1).first!
    }

    mutating func readUInt16() throws -> UInt16 {
        let b = try readBytes(2)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }

    mutating func readUInt32() throws -> UInt32 {
        let b = try readBytes(4)
        var value: UInt32 = 0
        for byte in b { value = value << 8 | UInt32(byte) }
        return value
    }

    mutating func readUInt64() throws -> UInt64 {
        let b = try readBytes(8)
        var value: UInt64 = 0
        for byte in b { value = value << 8 | UInt64(byte) }
        return value
    }

    /// Reads a 2-byte big-endian length and that many bytes.
    mutating func readShortLengthPrefixed() throws -> ArraySlice<UInt8> {
        let length = try readUInt16()
        return try readBytes(Int(length))
    }
}

/// Appends big-endian integers and length-prefixed fields.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func write(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func write(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func write<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    mutating func writeShortLengthPrefixed<C: Collection>(_ data: C, what: String) throws where C.Element == UInt8 {
        guard data.count <= Int(UInt16.max) else {
            throw EnvelopeError(.invalidArgument, "\(what) is \(data.count) bytes; the format allows 65535")
        }
        write(UInt16(data.count))
        write(data)
    }
}

/// Appends any byte collection with one copy when its storage is contiguous.
///
/// The public streaming entry points are generic over the caller's collection; called from another
/// module they are not specialized, and a plain `append(contentsOf:)` would then copy byte by byte.
func appendContiguously<C: Collection>(_ bytes: C, to array: inout [UInt8]) where C.Element == UInt8 {
    let copied: Void? = bytes.withContiguousStorageIfAvailable { array.append(contentsOf: $0) }
    if copied == nil {
        array.append(contentsOf: bytes)
    }
}
