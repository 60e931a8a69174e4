/// The members of a JSON object, in the order they were written or added, keys unique by UTF-8 bytes.
///
/// Order is kept so documents people read (key policies, the local KMS file, `--json` output) print
/// in the order they were built; it does not take part in equality or hashing, since JSON objects
/// are unordered. `jsonText` sorts the members, so equal objects still serialize to equal bytes.
///
/// Lookups scan the members: objects here are small (KMS answers, policy statements, workflow
/// state), and a scan of a few keys costs less than hashing them into a dictionary.
public struct JSONObject: Sendable {
    public typealias Member = (key: String, value: JSONValue)

    public private(set) var members: [Member]

    public init() {
        members = []
    }

    /// The members in order; a repeated key keeps its first place and takes the last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        self.members = []
        // Past a few members, finding repeats by scanning would cost quadratic time: index the keys.
        var positions: [[UInt8]: Int]?
        for (key, value) in members {
            if positions == nil, self.members.count == Self.scanLimit {
                positions = Dictionary(self.members.enumerated().map { (Array($1.key.utf8), $0) }, uniquingKeysWith: { first, _ in first })
            }
            if positions != nil {
                let bytes = Array(key.utf8)
                if let position = positions![bytes] {
                    self.members[position].value = value
                } else {
                    positions![bytes] = self.members.count
                    self.members.append((key, value))
                }
            } else {
                self[key] = value
            }
        }
    }

    /// Up to this many members, a repeated key is found by scanning.
    static let scanLimit = 16

    /// Members known to have distinct keys (the parser has checked them), taken as they are.
    init(uniqueMembers: [Member]) {
        members = uniqueMembers
    }

    /// The value under exactly these key bytes; setting `nil` removes the member, setting a new key
    /// appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            index(of: key).map { members[$0].value }
        }
        set {
            switch (index(of: key), newValue) {
            case let (index?, value?): members[index].value = value
            case let (index?, nil): members.remove(at: index)
            case let (nil, value?): members.append((key, value))
            case (nil, nil): break
            }
        }
    }

    /// Removes the member with exactly these key bytes and returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = index(of: key) else { return nil }
        return members.remove(at: index).value
    }

    public var keys: [String] { members.map(\.key) }
    public var values: [JSONValue] { members.map(\.value) }

    /// The members ordered by the UTF-8 bytes of their keys: the canonical order of `jsonText`.
    public var membersSortedByKey: [Member] {
        members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    private func index(of key: String) -> Int? {
        members.firstIndex { $0.key.utf8.elementsEqual(key.utf8) }
    }

    /// Feeds a string's UTF-8 bytes and length to a hasher, to match byte-wise equality.
    static func combineUTF8(_ text: String, into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(text.utf8.count)
    }
}

extension JSONObject: RandomAccessCollection {
    public var startIndex: Int { members.startIndex }
    public var endIndex: Int { members.endIndex }
    public subscript(position: Int) -> Member { members[position] }
}

extension JSONObject: Hashable {
    /// The same keys (by bytes) with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        // Objects built the same way list their keys in the same order: compare in step first.
        var inStep = true
        for (left, right) in zip(lhs.members, rhs.members) {
            guard left.key.utf8.elementsEqual(right.key.utf8) else {
                inStep = false
                break
            }
            guard left.value == right.value else { return false }
        }
        if inStep { return true }
        for (left, right) in zip(lhs.membersSortedByKey, rhs.membersSortedByKey) {
            guard left.key.utf8.elementsEqual(right.key.utf8), left.value == right.value else { return false }
        }
        return true
    }

    /// Independent of member order: each member is hashed on its own and the results are combined
    /// with XOR, as the standard library's `Dictionary` does.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for member in members {
            var memberHasher = Hasher()
            Self.combineUTF8(member.key, into: &memberHasher)
            memberHasher.combine(member.value)
            combined ^= memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Members in the order written; a repeated key keeps its first place and takes the last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
