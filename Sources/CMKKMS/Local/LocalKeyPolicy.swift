/// The part of a key policy document the local KMS enforces: explicit `Deny` statements.
///
/// The local KMS has one caller (whoever can read its file), so `Allow` statements change nothing;
/// a `Deny` on an action is what lets an operator revoke use of a key locally and see the same
/// `denied` the cloud would give. Principals and conditions are not evaluated: a Deny applies to
/// everyone.
public struct LocalKeyPolicy: Sendable {
    public let document: String

    public init(document: String) {
        self.document = document
    }

    /// The policy AWS gives a new key: the account root may do everything.
    public static func defaultDocument(account: String) -> String {
        let document: JSONValue = [
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [[
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": ["AWS": .string("arn:aws:iam::\(account):root")],
                "Action": "kms:*",
                "Resource": "*",
            ]],
        ]
        return document.prettyText
    }

    /// Checks that the document is JSON with a `Statement` list, as PutKeyPolicy requires.
    public static func validate(_ document: String) throws {
        if let excess = KeyPolicyLimit.excess(byteCount: document.utf8.count) {
            throw KMSError(.invalidRequest, excess, serviceErrorType: "ValidationException")
        }
        guard let parsed = try? JSONValue(parsing: document, limits: .shallow), parsed["Statement"] != nil else {
            throw KMSError(.invalidRequest, "the policy is not a JSON document with a Statement", serviceErrorType: "MalformedPolicyDocumentException")
        }
    }

    /// Whether some `Deny` statement names `action` (`kms:Decrypt`), `kms:*` or `*`.
    public func denies(_ action: String) -> Bool {
        guard let parsed = try? JSONValue(parsing: document, limits: .shallow) else { return false }
        let statements: [JSONValue]
        switch parsed["Statement"] {
        case .array(let list)?: statements = list
        case let single?: statements = [single]
        case nil: return false
        }
        for statement in statements where statement["Effect"]?.stringValue == "Deny" {
            let actions: [String]
            switch statement["Action"] {
            case .string(let one)?: actions = [one]
            case .array(let many)?: actions = many.compactMap(\.stringValue)
            default: actions = []
            }
            if actions.contains(where: { Self.matches(pattern: $0, action: action) }) { return true }
        }
        return false
    }

    /// IAM action matching: case-insensitive, `*` as a wildcard at the end (`kms:*`, `kms:Gen*`).
    static func matches(pattern: String, action: String) -> Bool {
        let p = pattern.lowercased(), a = action.lowercased()
        if p == "*" { return true }
        if p.hasSuffix("*") { return a.hasPrefix(p.dropLast()) }
        return p == a
    }
}
