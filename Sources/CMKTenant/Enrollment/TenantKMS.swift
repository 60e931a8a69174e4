import AsyncHTTPClient
import CMKKMS
import Foundation

/// Picks the KMS client for a tenant key: the local KMS for keys in region `local`, the AWS client
/// (SigV4, one HTTP client for every region, endpoints from the operator configuration) otherwise.
public struct TenantKMS: Sendable {
    private let local: @Sendable () throws -> any KMSClient
    private let aws: @Sendable () throws -> any KMSClient

    public init(local: @escaping @Sendable () throws -> any KMSClient, aws: @escaping @Sendable () throws -> any KMSClient) {
        self.local = local
        self.aws = aws
    }

    /// The client for `key`, a key ARN (or the operator's alias ARN); anything else is refused
    /// with `invalidKeyARN` before a client is made.
    public func client(forKey key: String) throws -> any KMSClient {
        try KeyARN(validating: key, allowAlias: true).region == LocalKMS.defaultRegion ? try local() : try aws()
    }

    /// Runs `body` with the clients the configuration describes; the HTTP client is shut down afterwards.
    /// AWS credentials come from the environment or the shared credentials file, and are only required
    /// when a key outside region `local` is used.
    public static func withClients<T>(
        configuration: OperatorConfiguration, profile: String? = nil, timeout: Duration = .seconds(10),
        _ body: (TenantKMS) async throws -> T
    ) async throws -> T {
        let http = AWSKMSClient.makeHTTPClient()
        let localPath = configuration.localKMSPath
        let endpoints = configuration.kmsEndpoints
        let credentials = Result { try AWSCredentialsResolver().require(profile: profile) }
        let router = TenantKMS(
            local: { try LocalKMS(path: localPath) },
            aws: {
                AWSKMSClient(httpClient: http, credentials: try credentials.get(), configuration: .init(endpoints: endpoints, requestTimeout: timeout))
            })
        do {
            let result = try await body(router)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}
