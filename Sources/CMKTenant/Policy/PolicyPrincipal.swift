/// A statement's Principal or NotPrincipal element, reduced to its AWS entries.
///
/// `Service`, `Federated` and `CanonicalUser` entries never name an IAM role, so they are kept
/// only to tell "names nobody of ours" from a missing element.
enum PolicyPrincipal: Sendable {
    /// `Principal`: the entries (`"*"`, ARNs, account ids) the statement applies to.
    case named([String])
    /// `NotPrincipal`: the statement applies to everyone but these entries.
    case allExcept([String])

    /// Whether an Allow with this element grants to our role: named directly, through its account
    /// or `"*"`; for NotPrincipal, unless any of those is listed.
    func allowCovers(_ identity: ServiceIdentity) -> Bool {
        switch self {
        case .named(let entries): entries.contains(where: identity.isNamed)
        case .allExcept(let entries): !entries.contains(where: identity.isNamed)
        }
    }

    /// Whether a Deny with this element hits our role.
    ///
    /// A NotPrincipal exempts a role only when it lists both the role and the role's account:
    /// AWS may evaluate the account first, and denying the account denies every role in it.
    func denyCovers(_ identity: ServiceIdentity) -> Bool {
        switch self {
        case .named(let entries):
            return entries.contains(where: identity.isNamed)
        case .allExcept(let entries):
            if entries.contains("*") { return false }
            return !(entries.contains(identity.arn) && entries.contains(where: identity.isAccount))
        }
    }

    var isEveryone: Bool {
        if case .named(let entries) = self { return entries.contains("*") }
        return false
    }

    var isNotPrincipal: Bool {
        if case .allExcept = self { return true }
        return false
    }
}

extension PolicyPrincipal {
    /// A NotPrincipal that lists our role but not its account: the usual way such a Deny still
    /// hits the role it meant to exempt.
    func listsRoleWithoutAccount(_ identity: ServiceIdentity) -> Bool {
        guard case .allExcept(let entries) = self else { return false }
        return entries.contains(identity.arn) && !entries.contains(where: identity.isAccount)
    }
}
