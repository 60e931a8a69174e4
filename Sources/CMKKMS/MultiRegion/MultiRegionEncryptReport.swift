/// Which regions wrapped a message's data key, and which did not and why.
///
/// A message missing a region still decrypts, but not in that region; callers record the report so
/// the missing copies can be added later (re-wrap) instead of being forgotten.
public struct MultiRegionEncryptReport: Sendable, Equatable {
    public struct Missing: Sendable, Equatable {
        public let region: String
        public let code: KMSError.Code
        public let message: String
    }

    public let wrappedRegions: [String]
    public let missingRegions: [Missing]

    public var isComplete: Bool { missingRegions.isEmpty }
}
