/// One region's root key of a tenant key set, and the client that reaches that region.
public struct RegionalKey: Sendable {
    public let region: String
    public let keyARN: String
    public let client: any KMSClient

    public init(keyARN: String, client: some KMSClient, region: String? = nil) {
        self.keyARN = keyARN
        self.client = client
        self.region = region ?? (try? KeyARN(validating: keyARN))?.region ?? "unknown"
    }
}
