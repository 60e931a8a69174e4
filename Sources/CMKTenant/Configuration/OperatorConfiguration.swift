import CMKEnvelope
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
    /// Where tenant notices go (suspended, reinstated, ...), signed in the Standard Webhooks scheme.
    public var notifications: NotificationSettings?
    /// How often `serve` runs the scheduled jobs.
    public var schedules: ScheduleSettings
    /// Where applications keep tenant ciphertexts; relative paths were made absolute against the
    /// configuration file's folder when it was loaded.
    public var dataSources: [DataSourceConfiguration]
    /// How re-encryption sweeps run: mode, page size, KMS call rate, pause re-check.
    public var reencryption: ReencryptionSettings = ReencryptionSettings()
    /// Where `cmkctl backup` writes tenants' backup files. A relative path was made absolute against the
    /// configuration file's folder when it was loaded; a file that does not set it gets `backups` in that
    /// folder (`.cmkctl/backups` beside the default `.cmkctl/operator.json`), as does no file at all.
    public var backupDirectory: String

    public static let defaultPath = ".cmkctl/operator.json"
    /// The backup folder's name beside a configuration file that does not set `backupDirectory`.
    static let defaultBackupFolder = "backups"

    public init(
        servicePrincipal: String = "arn:aws:iam::000000000000:role/cmkctl-service", contextKey: String = "cmk-tenant",
        vpcEndpointIDs: [String] = [], providerKey: String = "arn:aws:kms:local:000000000000:alias/cmkctl-provider",
        tenants: [String]? = nil, recheckInitialSeconds: Double = 60, recheckMaxSeconds: Double = 6 * 3600,
        kmsEndpoints: [String: String] = [:], localKMSPath: String = ".cmkctl/local-kms.json",
        notifications: NotificationSettings? = nil, schedules: ScheduleSettings = ScheduleSettings(),
        dataSources: [DataSourceConfiguration] = [], backupDirectory: String = ".cmkctl/backups"
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
        self.notifications = notifications
        self.schedules = schedules
        self.dataSources = dataSources
        self.backupDirectory = backupDirectory
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case servicePrincipal, contextKey, vpcEndpointIDs = "vpcEndpointIds", providerKey, tenants
        case recheckInitialSeconds, recheckMaxSeconds, kmsEndpoints, localKMSPath = "localKms", notifications, schedules, dataSources
        case reencryption
        case backupDirectory
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
        notifications = try container.decodeIfPresent(NotificationSettings.self, forKey: .notifications)
        schedules = try container.decodeIfPresent(ScheduleSettings.self, forKey: .schedules) ?? ScheduleSettings()
        dataSources = try container.decodeIfPresent([DataSourceConfiguration].self, forKey: .dataSources) ?? []
        reencryption = try container.decodeIfPresent(ReencryptionSettings.self, forKey: .reencryption) ?? ReencryptionSettings()
        backupDirectory = try container.decodeIfPresent(String.self, forKey: .backupDirectory) ?? defaults.backupDirectory
    }

    /// Any field name, to find the ones `CodingKeys` does not know.
    struct FieldName: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The largest configuration file read; a real one is a few hundred bytes.
    public static let maxFileBytes = 1 << 20

    /// Accepted re-check waits: below a second a blocked enrollment would spin (writing an audit entry
    /// per round); above 30 days a customer's fix would go unnoticed for a month.
    public static let recheckSecondsRange: ClosedRange<Double> = 1...2_592_000

    /// Reads the file at `path`; a missing file gives the defaults, a broken one an error naming the
    /// file, the field and the expected form.
    public static func load(path: String) throws -> OperatorConfiguration {
        guard FileManager.default.fileExists(atPath: path) else { return OperatorConfiguration() }
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw TenantError(.configuration, "cannot read operator configuration \(path)")
            }
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.configuration, "cannot read operator configuration \(path): \(ErrorSentence.reason(error))")
        }
        guard data.count <= maxFileBytes else {
            throw TenantError(.configuration, "\(path): the operator configuration is larger than \(maxFileBytes) bytes")
        }
        let configuration: OperatorConfiguration
        do {
            configuration = try JSONDecoder().decode(OperatorConfiguration.self, from: data)
        } catch let error as TenantError {
            throw TenantError(.configuration, "\(path): \(error.message)")
        } catch let error as DecodingError {
            throw TenantError(.configuration, "\(path) is not a valid operator configuration: \(Self.describe(error))")
        } catch {
            throw TenantError(.configuration, "\(path) is not a valid operator configuration: \(ErrorSentence.reason(error))")
        }
        var resolved = configuration
        try resolved.validate(source: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        resolved.dataSources = resolved.dataSources.map { $0.resolvingPaths(against: folder) }
        let setsBackupDirectory = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?[CodingKeys.backupDirectory.stringValue] != nil
        if !setsBackupDirectory {
            resolved.backupDirectory = folder + "/" + Self.defaultBackupFolder
        } else if !configuration.backupDirectory.hasPrefix("/") {
            resolved.backupDirectory = folder + "/" + configuration.backupDirectory
        }
        if let secretFile = configuration.notifications?.secretFile, !secretFile.hasPrefix("/") {
            resolved.notifications?.secretFile = folder + "/" + secretFile
        }
        return resolved
    }

    /// Checks every field, naming the first wrong one and the form it should have.
    public func validate(source: String = "operator configuration") throws {
        func refuse(_ field: String, _ expected: String, got value: String? = nil) -> TenantError {
            TenantError(.configuration, "\(source): \(field) must be \(expected)\(value.map { ", got \(DisplayText.quoted($0, limit: 120))" } ?? "")")
        }
        guard servicePrincipal.hasPrefix("arn:"), servicePrincipal.contains(":iam::"), Self.isPrintable(servicePrincipal),
              !servicePrincipal.contains(" "), servicePrincipal.utf8.count <= 2048 else {
            throw refuse("servicePrincipal", "an IAM principal ARN (arn:aws:iam::ACCOUNT:role/NAME)", got: servicePrincipal)
        }
        guard !contextKey.isEmpty, contextKey.utf8.count <= 256, Self.isPrintable(contextKey) else {
            throw refuse("contextKey", "1 to 256 bytes of UTF-8 text without control characters", got: contextKey)
        }
        guard !contextKey.lowercased().hasPrefix("aws") else {
            throw refuse("contextKey", "a key that does not start with \"aws\" (reserved by AWS)", got: contextKey)
        }
        for (index, id) in vpcEndpointIDs.enumerated() where !Self.isVPCEndpointID(id) {
            throw refuse("vpcEndpointIds[\(index)]", "a VPC endpoint id (vpce- and 1 to 32 lowercase letters and digits)", got: id)
        }
        // The provider key is the operator's own, so it may be an alias ARN (the operator controls
        // where its own alias points, unlike a customer's); its region picks where KMS calls go.
        do {
            _ = try KeyARN(validating: providerKey, allowAlias: true)
        } catch let error as KMSError {
            throw TenantError(.configuration, "\(source): providerKey: \(error.message)")
        }
        for (index, tenant) in (tenants ?? []).enumerated() {
            do { try EnrollmentRequest.checkTenantID(tenant) } catch let error as TenantError {
                throw TenantError(.configuration, "\(source): tenants[\(index)]: \(error.message)")
            }
        }
        let range = Self.recheckSecondsRange
        guard range.contains(recheckInitialSeconds) else {
            throw refuse("recheckInitialSeconds", "a number of seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))",
                         got: "\(recheckInitialSeconds)")
        }
        guard range.contains(recheckMaxSeconds), recheckMaxSeconds >= recheckInitialSeconds else {
            throw refuse("recheckMaxSeconds", "a number of seconds from recheckInitialSeconds to \(Int(range.upperBound))",
                         got: "\(recheckMaxSeconds)")
        }
        for region in kmsEndpoints.keys.sorted() {
            do { try KeyARN.validatedRegion(region, what: "kmsEndpoints region") } catch let error as KMSError {
                throw TenantError(.configuration, "\(source): \(error.message)")
            }
            guard let url = kmsEndpoints[region], Self.isEndpointURL(url) else {
                throw refuse("kmsEndpoints.\(region)", "an http:// or https:// URL with a host", got: kmsEndpoints[region])
            }
        }
        guard !localKMSPath.isEmpty, Self.isPrintable(localKMSPath), localKMSPath.utf8.count <= 4096 else {
            throw refuse("localKms", "a file path without control characters", got: localKMSPath)
        }
        guard ScheduleSettings.probeSecondsRange.contains(schedules.probeSeconds) else {
            throw refuse("schedules.probeSeconds", "a number of seconds from 60 to 86400", got: "\(schedules.probeSeconds)")
        }
        guard ScheduleSettings.backupSecondsRange.contains(schedules.backupSeconds) else {
            throw refuse("schedules.backupSeconds", "a number of seconds from 3600 to 2592000", got: "\(schedules.backupSeconds)")
        }
        guard !backupDirectory.isEmpty, Self.isPrintable(backupDirectory), backupDirectory.utf8.count <= 4096 else {
            throw refuse("backupDirectory", "a directory path without control characters", got: backupDirectory)
        }
        if let notifications {
            guard Self.isEndpointURL(notifications.url), notifications.url.utf8.count <= 2048 else {
                throw refuse("notifications.url", "an http:// or https:// URL with a host", got: notifications.url)
            }
            guard !notifications.secretFile.isEmpty, Self.isPrintable(notifications.secretFile), notifications.secretFile.utf8.count <= 4096 else {
                throw refuse("notifications.secretFile", "a file path without control characters", got: notifications.secretFile)
            }
        }
        for (index, dataSource) in dataSources.enumerated() {
            try dataSource.validate(index: index, source: source)
            if dataSources[..<index].contains(where: { $0.name == dataSource.name }) {
                throw refuse("dataSources[\(index)].name", "unique among the data sources", got: dataSource.name)
            }
        }
    }

    static func isVPCEndpointID(_ text: String) -> Bool {
        guard text.hasPrefix("vpce-") else { return false }
        let suffix = text.utf8.dropFirst(5)
        return (1...32).contains(suffix.count)
            && suffix.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    static func isEndpointURL(_ text: String) -> Bool {
        guard Self.isPrintable(text), let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty else { return false }
        return true
    }

    /// No control characters (NUL, newlines, escapes, DEL, C1).
    static func isPrintable(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }


    /// A JSON decoding failure as a person reads it: the field and the JSON type expected there.
    static func describe(_ error: DecodingError) -> String {
        func field(_ path: [any CodingKey]) -> String { fieldPath(path) }
        func expected(_ type: Any.Type, at path: [any CodingKey]) -> String {
            if path.first?.stringValue == CodingKeys.dataSources.stringValue {
                if path.count == 1 { return "a list of data source objects" }
                if path.count == 2 { return "an object with name, kind and the kind's fields" }
            }
            if type == Double.self { return "a number" }
            if type == String.self { return "a string" }
            // Every list and object in this file holds strings; the decoder reports them as [Any] or [String: Any].
            if type == [String].self || type == [Any].self { return "a list of strings" }
            if type == [String: String].self || type == [String: Any].self { return "an object of strings" }
            return "another JSON type"
        }
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            if context.codingPath.isEmpty { return "not a JSON object" }
            return "\(field(context.codingPath)) must be \(expected(type, at: context.codingPath))"
        case .keyNotFound(let key, let context):
            return "\(field(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(field(context.codingPath)) is not readable"
        @unknown default:
            return "not a JSON object of the known fields"
        }
    }

    /// A coding path as the file spells it: `dataSources[1].columns`.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text
    }

    /// The wait before re-check `round` (1 for the first), doubling up to the maximum.
    public func recheckDelay(round: Int) -> Double {
        let exponent = Double(max(0, min(round - 1, 40)))
        return min(recheckMaxSeconds, recheckInitialSeconds * pow(2, exponent))
    }
}
