import Foundation

/// How often `cmkctl serve` runs the scheduled jobs (`schedules` in the operator configuration).
public struct ScheduleSettings: Sendable, Equatable, Codable {
    /// Seconds between probe sweeps of every tenant's keys (60 to 86400; default 3600). Every server
    /// starts the same sweep for the same period (the checks are named after it), so a fleet probes each
    /// tenant once per period, not once per server.
    public var probeSeconds: Double

    /// How old a tenant's newest backup may get before `cmkctl sweep backup` takes another (3600 to
    /// 2592000; default 86400, a daily backup).
    public var backupSeconds: Double

    public static let probeSecondsRange: ClosedRange<Double> = 60...86_400
    public static let backupSecondsRange: ClosedRange<Double> = 3600...2_592_000

    public init(probeSeconds: Double = 3600, backupSeconds: Double = 86_400) {
        self.probeSeconds = probeSeconds
        self.backupSeconds = backupSeconds
    }

    enum CodingKeys: String, CodingKey { case probeSeconds, backupSeconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        probeSeconds = try container.decodeIfPresent(Double.self, forKey: .probeSeconds) ?? 3600
        backupSeconds = try container.decodeIfPresent(Double.self, forKey: .backupSeconds) ?? 86_400
    }
}
