/// Who our calls come from, in every form a key policy may name it.
///
/// A role's calls are judged against the role ARN, and against its account: naming the account
/// (`arn:aws:iam::ACCOUNT:root` or the bare 12-digit id) delegates to that account's IAM policies,
/// and cmkctl's own account grants its role what it needs, so the account counts as naming us.
struct ServiceIdentity: Sendable {
    let arn: String
    /// The 12-digit account of the role, when `arn` is an IAM ARN.
    let account: String?
    /// `arn:PARTITION:iam::ACCOUNT:root`, when `arn` is an IAM ARN.
    let accountRoot: String?

    init(arn: String) {
        self.arn = arn
        // arn:PARTITION:iam::ACCOUNT:RESOURCE
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        if parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit) {
            account = String(parts[4])
            accountRoot = "arn:\(parts[1]):iam::\(parts[4]):root"
        } else {
            account = nil
            accountRoot = nil
        }
    }

    /// Whether a Principal entry (`"*"`, an ARN, or an account id) takes in our calls.
    func isNamed(by entry: String) -> Bool {
        entry == "*" || entry == arn || isAccount(entry)
    }

    /// Whether `entry` names our account (root ARN or bare id) rather than the role itself.
    func isAccount(_ entry: String) -> Bool {
        guard let account, let accountRoot else { return false }
        return entry == account || entry == accountRoot
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
