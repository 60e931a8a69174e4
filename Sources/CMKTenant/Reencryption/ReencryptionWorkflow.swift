import CMKWorkflow
import Foundation

/// The re-encryption workflow's names: its definition, its activities, its executions.
public enum ReencryptionWorkflow {
    /// The workflow name, from `Workflows/reencrypt.asl.json`.
    public static let name = "reencrypt"

    /// The activities `ReencryptionHandlers` registers; definitions are checked against them.
    public static let handlerNames: Set<String> = [
        "reencrypt-begin", "reencrypt-count", "reencrypt-page", "reencrypt-pause", "reencrypt-resume", "reencrypt-complete",
        "reencrypt-notify", "reencrypt-superseded",
    ]

    /// Loads `reencrypt.asl.json` from `directory` against the re-encryption handlers.
    public static func loadDefinition(directory: URL) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlerNames).load(file: directory.appendingPathComponent("\(name).asl.json"))
    }

    /// The ASL errors the handlers raise.
    public enum ErrorName: String, Sendable, CaseIterable {
        case kmsUnavailable = "KMS.Unavailable"
        case kmsMisconfigured = "KMS.Misconfigured"
        /// A key the page needs answered with a revocation class: the sweep pauses.
        case kmsRevoked = "KMS.Revoked"
        /// The tenant is suspended (or offboarded): the sweep pauses until it is reinstated.
        case paused = "Reencryption.Paused"
        /// A newer generation was recorded: that generation's own re-encryption takes over.
        case superseded = "Reencryption.Superseded"
        case dataSourceUnavailable = "DataSource.Unavailable"
        case badInput = "Reencryption.BadInput"
    }

    /// The execution of the `attempt`th re-encryption of `tenant` to generation `target` (attempts
    /// after the first follow a failed or cancelled one).
    public static func executionName(tenant: String, target: Int, attempt: Int = 1) -> String {
        attempt <= 1 ? "reencrypt-\(tenant)-g\(target)" : "reencrypt-\(tenant)-g\(target)-\(attempt)"
    }
}

/// How a re-encryption runs (`reencryption` in the operator configuration); the input of each execution.
public struct ReencryptionSettings: Sendable, Equatable, Codable {
    /// Rewrap unsigned messages or re-encrypt everything (see `Reencryption.Mode`); rewrap measured
    /// 8.7x faster (`cmkctl bench reencrypt`), so it is the default.
    public var mode: ReencryptionMode
    /// Rows per page, and so per compare-and-swap transaction.
    public var batchSize: Int
    /// KMS calls per second the sweep may make (0: no limit), so it never starves live traffic.
    public var kmsCallsPerSecond: Double
    /// Seconds between re-checks of a paused sweep's keys.
    public var pauseSeconds: Double

    public static let batchSizeRange = 1...10_000

    public init(mode: ReencryptionMode = .rewrap, batchSize: Int = 500, kmsCallsPerSecond: Double = 200,
                pauseSeconds: Double = 60) {
        self.mode = mode
        self.batchSize = batchSize
        self.kmsCallsPerSecond = kmsCallsPerSecond
        self.pauseSeconds = pauseSeconds
    }

    enum CodingKeys: String, CodingKey { case mode, batchSize, kmsCallsPerSecond, pauseSeconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ReencryptionSettings()
        mode = try container.decodeIfPresent(ReencryptionMode.self, forKey: .mode) ?? defaults.mode
        batchSize = try container.decodeIfPresent(Int.self, forKey: .batchSize) ?? defaults.batchSize
        kmsCallsPerSecond = try container.decodeIfPresent(Double.self, forKey: .kmsCallsPerSecond) ?? defaults.kmsCallsPerSecond
        pauseSeconds = try container.decodeIfPresent(Double.self, forKey: .pauseSeconds) ?? defaults.pauseSeconds
        guard Self.batchSizeRange.contains(batchSize) else {
            throw TenantError(.configuration, "reencryption.batchSize must be 1 to 10000 (it is \(batchSize))")
        }
        guard kmsCallsPerSecond >= 0, kmsCallsPerSecond.isFinite else {
            throw TenantError(.configuration, "reencryption.kmsCallsPerSecond must be 0 (no limit) or more")
        }
        guard pauseSeconds >= 1, pauseSeconds <= 86_400 else {
            throw TenantError(.configuration, "reencryption.pauseSeconds must be 1 to 86400")
        }
    }

    /// The execution input's part.
    var json: JSONValue {
        ["mode": .string(mode.rawValue), "batchSize": .number(Double(batchSize)), "kmsCallsPerSecond": .number(kmsCallsPerSecond),
         "pauseSeconds": .number(pauseSeconds)]
    }

    init(input: JSONValue) {
        let defaults = ReencryptionSettings()
        self.init(mode: input["mode"]?.stringValue.flatMap(ReencryptionMode.init(rawValue:)) ?? defaults.mode,
                  batchSize: input["batchSize"]?.numberValue.map { Int($0) } ?? defaults.batchSize,
                  kmsCallsPerSecond: input["kmsCallsPerSecond"]?.numberValue ?? defaults.kmsCallsPerSecond,
                  pauseSeconds: input["pauseSeconds"]?.numberValue ?? defaults.pauseSeconds)
    }
}
