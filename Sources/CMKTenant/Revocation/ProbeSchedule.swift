import CMKWorkflow
import Foundation

/// The scheduled probe sweep of `cmkctl serve`: once per period, a revocation check of every tenant
/// that uses its own keys (active, re-encrypting, suspended: a suspended tenant whose keys pass again is
/// reinstated), each probing at the tenant's turn within the period. The checks are named after the period, so every server of a fleet starts the same ones
/// and each tenant is probed once per period.
public struct ProbeSchedule<Repository: TenantRepository>: Sendable {
    public let revocations: RevocationService<Repository>
    public let period: Double
    public let clock: any WorkflowClock

    public init(revocations: RevocationService<Repository>, period: Double, clock: any WorkflowClock = SystemWorkflowClock()) {
        self.revocations = revocations
        self.period = period
        self.clock = clock
    }

    /// The sweep run of the period that contains `date`: `sweep-<period start as Unix seconds>`.
    public func run(at date: Date) -> String {
        "sweep-\(Int(periodStart(date)))"
    }

    /// The start of the period containing `date`, in Unix seconds (periods are aligned to multiples of the period).
    func periodStart(_ date: Date) -> Double {
        (date.timeIntervalSince1970 / period).rounded(.down) * period
    }

    /// When `tenant`'s check of the period containing `date` probes: at the tenant's own offset into the
    /// period (a stable hash of its id), so a fleet's probes are spread evenly, each tenant is probed a
    /// period apart, and every server computes the same turn. A sweep started mid-period (a server just
    /// started) spreads the turns already past over what is left of the period instead of probing them all
    /// at once, where they would queue in front of a KMS event's check.
    public func turn(of tenant: String, at date: Date) -> Date {
        let start = periodStart(date)
        let fraction = Self.fraction(tenant)
        let planned = start + fraction * period
        if planned >= date.timeIntervalSince1970 { return Date(timeIntervalSince1970: planned) }
        return date.addingTimeInterval(fraction * (start + period - date.timeIntervalSince1970))
    }

    /// A tenant's offset into a period, in [0, 1): FNV-1a of its id, stable across processes and releases
    /// (unlike `Hasher`), then MurmurHash3's 64-bit finalizer: FNV's high bits alone barely differ between
    /// ids that differ only at the end (`tenant1`, `tenant2`), which bunched such tenants into a few slices.
    static func fraction(_ tenant: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in tenant.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Double(hash >> 11) / Double(UInt64(1) << 53)
    }

    /// Starts (or finds) the checks of the period containing `date`, each waiting for its tenant's turn;
    /// returns how many were new.
    @discardableResult
    public func sweep(at date: Date) async throws -> Int {
        let repository = revocations.repository
        let tenants = try await repository.read { try await repository.tenants(in: $0) }
            .filter { [.active, .reencrypting, .suspended].contains($0.state) }
        var started = 0
        for tenant in tenants {
            let (_, created) = try await revocations.check(tenant: tenant.id, trigger: RevocationTrigger(kind: .sweep, id: run(at: date)),
                                                           notBefore: turn(of: tenant.id, at: date))
            if created { started += 1 }
        }
        return started
    }

    /// The first delay of a suspended tenant's reinstatement probes; each next one doubles, until the
    /// delay reaches the period and the periodic sweep takes over.
    public static var reinstatementFirstDelay: Double { 60 }

    /// The reinstatement probe a suspended tenant is due at `date`: 1, 2, 4, ... minutes after its
    /// suspension (the nth named after it), so a customer who restores the key within minutes is back
    /// within minutes, not at the next period; nil before the first or once the delay reaches the period.
    public func reinstatementRound(suspendedAt: Date, at date: Date) -> Int? {
        let elapsed = date.timeIntervalSince(suspendedAt)
        guard elapsed >= Self.reinstatementFirstDelay else { return nil }
        let round = Int(log2(elapsed / Self.reinstatementFirstDelay).rounded(.down))
        guard Self.reinstatementFirstDelay * pow(2, Double(round)) < period else { return nil }
        return round
    }

    /// Starts the reinstatement probes that are due for every suspended tenant; returns how many were new.
    @discardableResult
    public func reinstatementChecks(at date: Date) async throws -> Int {
        let repository = revocations.repository
        let suspended = try await repository.read { try await repository.tenants(in: $0) }.filter { $0.state == .suspended }
        var started = 0
        for tenant in suspended {
            guard let round = reinstatementRound(suspendedAt: tenant.updatedAt, at: date) else { continue }
            let id = "reinstate-\(Int(tenant.updatedAt.timeIntervalSince1970))-\(round)"
            if try await revocations.check(tenant: tenant.id, trigger: RevocationTrigger(kind: .sweep, id: id)).created { started += 1 }
        }
        return started
    }

    /// Sweeps now, then at the start of every period, until the task is cancelled; in between, every
    /// 30 seconds (or the period, if shorter), the reinstatement probes that are due. A failed sweep (the
    /// store away) is tried again at the next wake; the checks it did start run anyway.
    public func run() async {
        var swept: String?
        while !Task.isCancelled {
            let now = clock.now()
            if swept != run(at: now), (try? await sweep(at: now)) != nil { swept = run(at: now) }
            _ = try? await reinstatementChecks(at: now)
            let nextPeriod = Date(timeIntervalSince1970: periodStart(now) + period)
            let next = min(nextPeriod, now.addingTimeInterval(min(30, period)))
            do { try await clock.sleep(until: next) } catch { return }
        }
    }
}
