import CMKKMS
import Foundation

/// What the SaaS operator configures once: who calls KMS, the context key, the provider's own key
/// (generation 0), optional VPC endpoints and tenant list, and how patiently to wait for customers.
///
/// Read from a JSON file (default `.cmkctl/operator.json`); every field has a default so the embedded
/// setup works without one.
public struct OperatorConfiguration: Sendable, Equatable, Codable {
    /// The IAM principal (role ARN) cmkctl's KMS calls come from; tenants' key policies must allow it.
    public var servicePrincipal: String
    /// The encryption-context key of the tenant identifier.
    public var contextKey: String
    /// VPC endpoint ids the calls come through; when set, key policies should require `aws:SourceVpce`.
    public var vpcEndpointIDs: [String]
    /// The provider-managed key every tenant starts under (generation 0).
    public var providerKey: String
    /// When set, only these tenant ids may enroll.
    public var tenants: [String]?
    /// First wait before re-checking a blocked enrollment, doubled each round up to `recheckMaxSeconds`.
    public var recheckInitialSeconds: Double
    public var recheckMaxSeconds: Double
    /// KMS endpoint per region (`us-east-1` → `http://127.0.0.1:5000`), for VPC endpoints and test servers.
    public var kmsEndpoints: [String: String]
    /// The local KMS file, for keys in region `local`.
    public var localKMSPath: String

    public static let defaultPath = ".cmkctl/operator.json"

    public init(
        servicePrincipal: String = "arn:aws:iam::000000000000:role/cmkctl-service", contextKey: String = "cmk-tenant",
        vpcEndpointIDs: [String] = [], providerKey: String = "arn:aws:kms:local:000000000000:alias/cmkctl-provider",
        tenants: [String]? = nil, recheckInitialSeconds: Double = 60, recheckMaxSeconds: Double = 6 * 3600,
        kmsEndpoints: [String: String] = [:], localKMSPath: String = ".cmkctl/local-kms.json"
    ) {
        self.servicePrincipal = servicePrincipal
        self.contextKey = contextKey
        self.vpcEndpointIDs = vpcEndpointIDs
        self.providerKey = providerKey
        self.tenants = tenants
        self.recheckInitialSeconds = recheckInitialSeconds
        self.recheckMaxSeconds = recheckMaxSeconds
        self.kmsEndpoints = kmsEndpoints
        self.localKMSPath = localKMSPath
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case servicePrincipal, contextKey, vpcEndpointIDs = "vpcEndpointIds", providerKey, tenants
        case recheckInitialSeconds, recheckMaxSeconds, kmsEndpoints, localKMSPath = "localKms"
    }

    /// Missing fields take their defaults; unknown fields are refused, so a typo does not pass silently.
    public init(from decoder: any Decoder) throws {
        let defaults = OperatorConfiguration()
        let fields = try decoder.container(keyedBy: FieldName.self).allKeys.map(\.stringValue)
        if let unknown = fields.sorted().first(where: { CodingKeys(stringValue: $0) == nil }) {
            let known = CodingKeys.allCases.map(\.stringValue).sorted()
            throw TenantError(.configuration, "unknown field \"\(unknown)\" (known: \(known.joined(separator: ", ")))")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        servicePrincipal = try container.decodeIfPresent(String.self, forKey: .servicePrincipal) ?? defaults.servicePrincipal
        contextKey = try container.decodeIfPresent(String.self, forKey: .contextKey) ?? defaults.contextKey
        vpcEndpointIDs = try container.decodeIfPresent([String].self, forKey: .vpcEndpointIDs) ?? []
        providerKey = try container.decodeIfPresent(String.self, forKey: .providerKey) ?? defaults.providerKey
        tenants = try container.decodeIfPresent([String].self, forKey: .tenants)
        recheckInitialSeconds = try container.decodeIfPresent(Double.self, forKey: .recheckInitialSeconds) ?? defaults.recheckInitialSeconds
        recheckMaxSeconds = try container.decodeIfPresent(Double.self, forKey: .recheckMaxSeconds) ?? defaults.recheckMaxSeconds
        kmsEndpoints = try container.decodeIfPresent([String: String].self, forKey: .kmsEndpoints) ?? [:]
        localKMSPath = try container.decodeIfPresent(String.self, forKey: .localKMSPath) ?? defaults.localKMSPath
    }

    /// Any field name, to find the ones `CodingKeys` does not know.
    struct FieldName: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Reads the file at `path`; a missing file gives the defaults, a broken one an error naming it.
    public static func load(path: String) throws -> OperatorConfiguration {
        guard FileManager.default.fileExists(atPath: path) else { return OperatorConfiguration() }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TenantError(.configuration, "cannot read operator configuration \(path): \(error.localizedDescription)")
        }
        let configuration: OperatorConfiguration
        do {
            configuration = try JSONDecoder().decode(OperatorConfiguration.self, from: data)
        } catch let error as TenantError {
            throw TenantError(.configuration, "\(path): \(error.message)")
        } catch {
            throw TenantError(.configuration, "\(path) is not a valid operator configuration: \(error)")
        }
        try configuration.validate(source: path)
        return configuration
    }

    public func validate(source: String = "operator configuration") throws {
        guard servicePrincipal.hasPrefix("arn:") && servicePrincipal.contains(":iam::") else {
            throw TenantError(.configuration, "\(source): servicePrincipal must be an IAM principal ARN, got \"\(servicePrincipal)\"")
        }
        guard !contextKey.isEmpty, !contextKey.hasPrefix("aws") else {
            throw TenantError(.configuration, "\(source): contextKey must be non-empty and must not start with \"aws\" (reserved by AWS)")
        }
        guard recheckInitialSeconds > 0, recheckMaxSeconds >= recheckInitialSeconds else {
            throw TenantError(.configuration, "\(source): need 0 < recheckInitialSeconds <= recheckMaxSeconds")
        }
        try validateKMSNames(source: source)
    }

    /// The provider key is the operator's own, so it may be an alias ARN; it and every endpoint's
    /// region must pass `KeyARN`'s grammar, since the region picks where KMS calls go.
    func validateKMSNames(source: String) throws {
        do {
            _ = try KeyARN(validating: providerKey, allowAlias: true)
        } catch let error as KMSError {
            throw TenantError(.configuration, "\(source): providerKey: \(error.message)")
        }
        for region in kmsEndpoints.keys.sorted() {
            do { try KeyARN.validatedRegion(region, what: "kmsEndpoints region") } catch let error as KMSError {
                throw TenantError(.configuration, "\(source): \(error.message)")
            }
        }
    }

    /// The wait before re-check `round` (1 for the first), doubling up to the maximum.
    public func recheckDelay(round: Int) -> Double {
        let exponent = Double(max(0, min(round - 1, 40)))
        return min(recheckMaxSeconds, recheckInitialSeconds * pow(2, exponent))
    }
}
