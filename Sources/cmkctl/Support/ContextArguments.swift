import ArgumentParser
import CMKEnvelope
import Foundation

/// The encryption context a command was given: `--context KEY=VALUE` arguments and a `--context-file`.
///
/// The context is bound to the message byte for byte, so every key and value must be exactly the
/// bytes the operator gave. Bytes that are not UTF-8 are refused (exit 64) instead of being replaced
/// with U+FFFD, which would bind other bytes and let other invalid bytes match on decrypt.
enum ContextArguments {
    /// The pairs of `--context` arguments (split at the first `=`) followed by those of `file`.
    static func context(pairs items: [String], option: String = "--context", file: String?) throws -> EncryptionContext {
        var pairs: [(String, String)] = []
        for item in items {
            if let bytes = RawArguments.bytesIfNotUTF8(value: item, option: option) {
                throw CommandFailure(status: .usage, message: "\(option) \(DisplayText.quoted(bytes)): the pair is not valid UTF-8; context keys and values must be UTF-8")
            }
            guard let equals = item.firstIndex(of: "=") else {
                throw CommandFailure(status: .usage, message: "\(option) \(DisplayText.quoted(item)): expected KEY=VALUE")
            }
            pairs.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
        if let file {
            pairs += try pairsInFile(file)
        }
        do {
            return try EncryptionContext(pairs)
        } catch let error as EnvelopeError {
            throw CommandFailure(status: .usage, message: error.message)
        }
    }

    private static func pairsInFile(_ path: String) throws -> [(String, String)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(status: .noInput, message: "cannot read the context file \(path): \(ErrorSentence.reason(error))")
        }
        do {
            return try EncryptionContext(jsonObject: data).pairs.map { ($0.key, $0.value) }
        } catch let error as EnvelopeError {
            throw CommandFailure(status: .usage, message: "context file \(path): \(error.message)")
        }
    }
}

/// The process's arguments as the bytes it was given, before Swift decoded them.
///
/// `CommandLine.arguments` (and so ArgumentParser) replaces bytes that are not UTF-8 with U+FFFD.
/// Options whose bytes matter (the encryption context) look here to refuse such arguments.
enum RawArguments {
    /// The arguments that are not valid UTF-8: their bytes, and the text Swift decoded from them.
    static let notUTF8: [(bytes: [UInt8], decoded: String)] = {
        var found: [(bytes: [UInt8], decoded: String)] = []
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: argument, count: strlen(argument))).map { UInt8(bitPattern: $0) }
            if String(validating: bytes, as: UTF8.self) == nil {
                found.append((bytes, String(decoding: bytes, as: UTF8.self)))
            }
        }
        return found
    }()

    /// The bytes `value` was decoded from, when they are not UTF-8; nil when `value` is what was given.
    ///
    /// `value` is an option's value as parsed: the argument after `option`, or the tail of `option=value`.
    static func bytesIfNotUTF8(value: String, option: String) -> [UInt8]? {
        guard value.unicodeScalars.contains("\u{FFFD}") else { return nil }
        let attached = option + "="
        for argument in notUTF8 {
            if argument.decoded == value { return argument.bytes }
            if argument.decoded == attached + value { return Array(argument.bytes.dropFirst(attached.utf8.count)) }
        }
        return nil
    }
}
