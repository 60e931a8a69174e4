/// An IAM wildcard pattern: `*` matches any run of characters, `?` exactly one.
///
/// Action names match case-insensitively; condition values (StringLike, ArnLike) case-sensitively.
struct WildcardPattern: Sendable {
    let text: String
    let ignoresCase: Bool
    private let pattern: [Character]

    init(_ text: String, ignoresCase: Bool) {
        self.text = text
        self.ignoresCase = ignoresCase
        self.pattern = Array(ignoresCase ? text.lowercased() : text)
    }

    var hasWildcard: Bool { pattern.contains("*") || pattern.contains("?") }

    /// Greedy matching with backtracking to the last `*`: linear in practice, no recursion.
    func matches(_ candidate: String) -> Bool {
        let subject = Array(ignoresCase ? candidate.lowercased() : candidate)
        var p = 0, s = 0
        var star: Int? = nil, starSubject = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "*" {
                star = p
                starSubject = s
                p += 1
            } else if p < pattern.count, pattern[p] == "?" || pattern[p] == subject[s] {
                p += 1
                s += 1
            } else if let star {
                p = star + 1
                starSubject += 1
                s = starSubject
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
