import Foundation

/// Plain sentences for the errors Foundation and `Codable` throw, for people rather than debuggers.
///
/// `"\(error)"` of a `DecodingError` or a `CocoaError` prints Swift type names, coding-path dumps
/// and error domains ("NSCocoaErrorDomain error 256"); a user needs the file, the field and what was
/// expected. Every module that shows such an error to a user goes through here.
public enum ErrorSentence {
    /// The reason, after the file's path when the error knows it: "/tmp/x: is a directory".
    public static func describing(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let path = cocoa.filePath {
            return "\(path): \(reason(error))"
        }
        return reason(error)
    }

    /// Only the reason, for a caller that names the file itself: "field `providerKey`: expected a string".
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let decoding as DecodingError:
            return reason(decoding)
        case let cocoa as CocoaError:
            return reason(cocoa)
        case let posix as POSIXError:
            return systemReason(posix.code.rawValue)
        default:
            let bridged = error as NSError
            if bridged.domain == NSPOSIXErrorDomain { return systemReason(Int32(bridged.code)) }
            if bridged.domain == NSCocoaErrorDomain { return reason(CocoaError(CocoaError.Code(rawValue: bridged.code), userInfo: bridged.userInfo)) }
            // Checked on the type: a cast of the value would succeed through NSError bridging.
            if type(of: error) is any CustomStringConvertible.Type { return String(describing: error) }
            return "an unexpected failure"
        }
    }

    private static func reason(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            return field(context.codingPath, "expected \(noun(for: type))")
        case .valueNotFound(let type, let context):
            return field(context.codingPath, "expected \(noun(for: type)), found null")
        case .keyNotFound(let key, let context):
            return "field \(path(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return field(context.codingPath, context.debugDescription)
        @unknown default:
            return "not the expected JSON"
        }
    }

    private static func reason(_ error: CocoaError) -> String {
        if let underlying = error.underlying as NSError?, underlying.domain == NSPOSIXErrorDomain {
            return systemReason(Int32(underlying.code))
        }
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: return "not valid UTF-8 text"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "the file system is read-only"
        case .propertyListReadCorrupt:
            if let detail = error.userInfo[NSDebugDescriptionErrorKey] as? String { return "not valid JSON (\(detail))" }
            return "not valid JSON"
        default:
            // Foundation numbers its file write errors 512-767 (NSFileWriteUnknownError and after).
            return (512...767).contains(error.code.rawValue) ? "the file could not be written" : "the file could not be read"
        }
    }

    /// "field `tenants[2]`: expected a string", or the bare detail for the top level.
    private static func field(_ codingPath: [any CodingKey], _ detail: String) -> String {
        codingPath.isEmpty ? "\(detail) at the top level" : "field \(path(codingPath)): \(detail)"
    }

    /// A coding path as a user writes it: `kmsEndpoints.us-east-1`, `tenants[2]`.
    private static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return "`\(text)`"
    }

    /// What a JSON value of `type` is called: a string, a number, true or false, an array, an object.
    private static func noun(for type: Any.Type) -> String {
        if type == String.self || type == Substring.self || type == Character.self { return "a string" }
        if type == Bool.self { return "true or false" }
        if type is any BinaryInteger.Type || type is any BinaryFloatingPoint.Type || type == Decimal.self { return "a number" }
        let name = String(describing: type)
        if name.hasPrefix("Array<") || name.hasPrefix("Set<") || name.hasPrefix("[") { return "an array" }
        if name.hasPrefix("Dictionary<") { return "an object" }
        return "a value of another kind"
    }

    /// strerror's text in lower case, to continue a sentence: "is a directory", "permission denied".
    private static func systemReason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
