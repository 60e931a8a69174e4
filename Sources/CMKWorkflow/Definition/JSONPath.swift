/// A reference path in the simple subset this engine supports: `$` or `$.a.b` (object fields only).
///
/// Step Functions accepts full JSONPath; the subset keeps reading and writing unambiguous, so that
/// `ResultPath` can always create the fields it names.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// Field names from the root, empty for `$`.
    public let fields: [String]

    public static let root = JSONPath(fields: [])

    public init(fields: [String]) {
        self.fields = fields
    }

    /// Parses `$` or `$.name.name`; names are letters, digits, `_` and `-`.
    public init(parsing text: String) throws {
        guard text.hasPrefix("$") else {
            throw WorkflowError(.invalidJSON, "path \"\(text)\" must start with $")
        }
        if text == "$" {
            self.fields = []
            return
        }
        guard text.hasPrefix("$.") else {
            throw WorkflowError(.invalidJSON, "path \"\(text)\" is outside the supported subset ($ or $.a.b)")
        }
        let names = text.dropFirst(2).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for name in names {
            let allowed = !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
            guard allowed else {
                throw WorkflowError(.invalidJSON, "path \"\(text)\" is outside the supported subset ($ or $.a.b)")
            }
        }
        self.fields = names
    }

    public var description: String {
        fields.isEmpty ? "$" : "$." + fields.joined(separator: ".")
    }

    /// The value at this path, or nil when a field along the way is missing or not an object.
    public func read(from value: JSONValue) -> JSONValue? {
        var current = value
        for field in fields {
            guard let next = current[field] else { return nil }
            current = next
        }
        return current
    }

    /// Returns `base` with `newValue` placed at this path, creating objects for missing fields.
    ///
    /// Writing through a non-object value fails rather than silently replacing it, as Step Functions'
    /// `States.ResultPathMatchFailure` does.
    public func write(_ newValue: JSONValue, into base: JSONValue) throws -> JSONValue {
        try Self.write(newValue, into: base, fields: fields[...], fullPath: self)
    }

    private static func write(
        _ newValue: JSONValue, into base: JSONValue, fields: ArraySlice<String>, fullPath: JSONPath
    ) throws -> JSONValue {
        guard let field = fields.first else { return newValue }
        var members: JSONObject
        switch base {
        case .object(let existing): members = existing
        case .null: members = [:]
        default:
            throw WorkflowError(.invalidJSON, "cannot write \(fullPath): a value along the path is not an object")
        }
        let child = members[field] ?? .null
        members[field] = try write(newValue, into: child, fields: fields.dropFirst(), fullPath: fullPath)
        return .object(members)
    }
}
