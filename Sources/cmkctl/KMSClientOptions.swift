import ArgumentParser
import AsyncHTTPClient
import CMKKMS

/// The options that say how to reach KMS: endpoint overrides, the credentials profile, the local
/// KMS file. Shared by `probe`, `encrypt` and `decrypt`.
struct KMSClientOptions: ParsableArguments {
    @Option(name: .customLong("kms-endpoint"), help: "REGION=URL: send that region's KMS calls to URL (repeatable).")
    var endpoints: [String] = []

    @Option(help: "Profile of the shared credentials file (default: AWS_PROFILE or default).")
    var profile: String?

    @Option(name: .customLong("kms-timeout"), help: "Seconds one KMS call may take, 0.1 to 300.")
    var timeoutSeconds: Double = 10

    @OptionGroup var local: LocalKMSOptions

    func validate() throws {
        try OptionLimits.kmsTimeout.check(timeoutSeconds)
        for endpoint in endpoints {
            do { _ = try KMSKeySpec.parseEndpointOverride(endpoint) } catch let error as KMSError { throw ValidationError(error.message) }
        }
    }

    /// Runs `body` with a factory for clients; the shared HTTP client is shut down afterwards.
    ///
    /// `minimumRegions` (encrypt's `--min-regions`) and `hedgeDelayMilliseconds` (decrypt's
    /// `--hedge-delay-ms`) configure multi-region key sets; each command declares the one it uses.
    func withClients<T>(minimumRegions: Int = 1, hedgeDelayMilliseconds: Int = 200,
                        _ body: (KMSClientFactory) async throws -> T) async throws -> T {
        var overrides: [String: String] = [:]
        for endpoint in endpoints {
            let (region, url) = try KMSKeySpec.parseEndpointOverride(endpoint)
            overrides[region] = url
        }
        // validate() bounded the timeout to 0.1...300 s, so the conversion cannot trap.
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded()))
        let http = AWSKMSClient.makeHTTPClient()
        let multiRegion = MultiRegionKeyring.Configuration(minimumRegions: minimumRegions, wrapTimeout: timeout,
                                                           hedgeDelay: .milliseconds(hedgeDelayMilliseconds))
        let factory = KMSClientFactory(http: http, endpoints: overrides, profile: profile,
                                       timeout: timeout, localPath: local.path, multiRegion: multiRegion)
        do {
            let result = try await body(factory)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

/// Builds the client for a key spec: the AWS client (one per process, all regions) or the local KMS.
struct KMSClientFactory: Sendable {
    let http: HTTPClient
    let endpoints: [String: String]
    let profile: String?
    let timeout: Duration
    let localPath: String
    let multiRegion: MultiRegionKeyring.Configuration

    func client(for spec: KMSKeySpec) throws -> (client: any KMSClient, keyID: String) {
        switch spec {
        case .aws(let arn):
            return (try awsClient(defaultRegion: try KeyARN(validating: arn).region), arn)
        case .local(let keyID):
            return (try LocalKMS(path: localPath), keyID)
        }
    }

    func awsClient(defaultRegion: String) throws -> AWSKMSClient {
        try KeyARN.validatedRegion(defaultRegion, what: "default region")
        return AWSKMSClient(httpClient: http, credentials: try AWSCredentialsResolver().require(profile: profile),
                            configuration: .init(defaultRegion: defaultRegion, endpoints: endpoints, requestTimeout: timeout))
    }
}
