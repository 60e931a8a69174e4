import Foundation

/// A set of root keys, one per region, that wraps the tenant's data from a point in time.
public struct KeyGeneration: Sendable, Equatable, Codable {
    public struct RegionalKey: Sendable, Equatable, Codable {
        public var region: String
        public var keyARN: String

        public init(region: String, keyARN: String) {
            self.region = region
            self.keyARN = keyARN
        }
    }

    public var tenant: String
    public var number: Int
    public var keys: [RegionalKey]
    /// True for generation 0: the operator's key, not the tenant's.
    public var providerManaged: Bool
    public var createdAt: Date
    public var cause: Cause
    /// When `generations retire` retired it: its keys no longer decrypt anything; nil while in use.
    public var retiredAt: Date?

    public init(tenant: String, number: Int, keys: [RegionalKey], providerManaged: Bool, createdAt: Date, cause: Cause,
                retiredAt: Date? = nil) {
        self.tenant = tenant
        self.number = number
        self.keys = keys
        self.providerManaged = providerManaged
        self.createdAt = createdAt
        self.cause = cause
        self.retiredAt = retiredAt
    }
}
