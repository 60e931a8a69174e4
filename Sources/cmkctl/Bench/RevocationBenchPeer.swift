import ArgumentParser
import AsyncHTTPClient
import CMKKMS
import CMKPeers
import CMKTenant
import Foundation

/// Which KMS the tenants of `bench revocation` are enrolled on.
enum RevocationBenchKMS: String, ExpressibleByArgument, CaseIterable, Sendable {
    case local, moto
}

/// What tells the servers that a key went away: a KMS event posted to one of them, or nothing but the
/// scheduled probe sweep.
enum RevocationBenchMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    case webhook, sweep
}

/// The KMS side of `bench revocation`: where the tenants' keys are made and disabled, the operator
/// configuration the `cmkctl` children read, and the credentials they sign with. On moto, IAM checks are
/// on, so every call of every process is SigV4-signed by an IAM user and checked by moto.
struct RevocationBenchPeer: Sendable {
    let kms: RevocationBenchKMS
    let client: any KMSClient
    let configuration: OperatorConfiguration
    /// What the `cmkctl` children sign with: the service user's access key on moto; nothing locally.
    let credentials: AWSCredentials?
    private let moto: MotoServer?
    private let http: HTTPClient?

    static func start(_ kms: RevocationBenchKMS, scratch: String, motoExecutable: String) async throws -> RevocationBenchPeer {
        var configuration = OperatorConfiguration()
        configuration.localKMSPath = scratch + "/.cmkctl/local-kms.json"
        // The provider's key lives in the local KMS either way (a tenant starts on it before its enrollment).
        let local = try LocalKMS(path: configuration.localKMSPath, createIfMissing: true)
        guard kms == .moto else {
            return RevocationBenchPeer(kms: kms, client: local, configuration: configuration, credentials: nil, moto: nil, http: nil)
        }
        // Three unauthenticated IAM actions make the service user; everything after must be signed by it.
        let moto = try await MotoServer.start(executable: motoExecutable, initialNoAuthActionCount: 3, logPath: scratch + "/moto.log")
        let http = AWSKMSClient.makeHTTPClient()
        do {
            let iam = IAMQueryClient(http: http, endpoint: moto.url,
                                     credentials: AWSCredentials(accessKeyID: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap"))
            let user = try await iam.createPrincipal("cmkctl-bench", policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#)
            configuration.servicePrincipal = user.arn
            configuration.kmsEndpoints = [Self.region: moto.url]
            let client = AWSKMSClient(httpClient: http, credentials: user.credentials,
                                      configuration: .init(defaultRegion: Self.region, endpoints: [Self.region: moto.url]))
            return RevocationBenchPeer(kms: kms, client: client, configuration: configuration, credentials: user.credentials, moto: moto, http: http)
        } catch {
            try? await http.shutdown()
            moto.stop()
            throw error
        }
    }

    static let region = "us-east-1"

    /// A key for the tenant tagged `tag`; on moto with the policy enrollment verifies (the service user
    /// may use it only under the tenant's context identifier).
    func createKey(tag: String) async throws -> KeyMetadata {
        guard kms == .moto else { return try await client.createKey(description: tag, policy: nil) }
        let policy = """
            {"Version":"2012-10-17","Id":"bench-key","Statement":[
              {"Sid":"TenantAdmins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"kms:*","Resource":"*"},
              {"Sid":"SaaSUse","Effect":"Allow","Principal":{"AWS":"\(configuration.servicePrincipal)"},
               "Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey","kms:ReEncryptFrom","kms:ReEncryptTo"],"Resource":"*",
               "Condition":{"StringLike":{"kms:EncryptionContext:\(configuration.contextKey)":"\(tag)-*"}}},
              {"Sid":"SaaSRead","Effect":"Allow","Principal":{"AWS":"\(configuration.servicePrincipal)"},"Action":["kms:DescribeKey","kms:GetKeyPolicy"],"Resource":"*"}
            ]}
            """
        return try await client.createKey(description: tag, policy: policy)
    }

    /// The customer's revocation: the key disabled (moto finds DisableKey's key by its id only).
    func disable(_ key: KeyMetadata) async throws {
        try await client.disableKey(keyID: kms == .moto ? key.keyID : key.arn)
    }

    func stop() async {
        try? await http?.shutdown()
        moto?.stop()
    }
}
