/// What DescribeKey says about a key: enough for the probe to decide whether the key is usable.
public struct KeyMetadata: Sendable, Equatable {
    /// AWS key states; the local KMS uses the first three.
    public enum State: String, Sendable {
        case enabled = "Enabled"
        case disabled = "Disabled"
        case pendingDeletion = "PendingDeletion"
        case pendingImport = "PendingImport"
        case unavailable = "Unavailable"
        case creating = "Creating"
        case updating = "Updating"
    }

    public let keyID: String
    public let arn: String
    public let state: State?
    /// The raw state string, kept when it is one this code does not know.
    public let stateName: String
    public let keySpec: String
    public let keyUsage: String
    public let description: String
    public let creationDate: Double?
    public let deletionDate: Double?

    public init(keyID: String, arn: String, stateName: String, keySpec: String, keyUsage: String,
                description: String = "", creationDate: Double? = nil, deletionDate: Double? = nil) {
        self.keyID = keyID
        self.arn = arn
        self.stateName = stateName
        self.state = State(rawValue: stateName)
        self.keySpec = keySpec
        self.keyUsage = keyUsage
        self.description = description
        self.creationDate = creationDate
        self.deletionDate = deletionDate
    }

    /// The region of the key, from its ARN.
    public var region: String? { (try? KeyARN(validating: arn, allowAlias: true))?.region }
}
