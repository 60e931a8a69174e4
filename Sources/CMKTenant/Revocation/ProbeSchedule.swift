import CMKWorkflow
import Foundation

/// The scheduled probe sweep of `cmkctl serve`: once per period, a revocation check of every tenant
/// that uses its own keys (active, re-encrypting, suspended: a suspended tenant whose keys pass again is
/// reinstated). The checks are named after the period, so every server of a fleet starts the same ones
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
        "sweep-\(Int((date.timeIntervalSince1970 / period).rounded(.down) * period))"
    }

    /// Starts (or finds) the checks of the period containing `date`; returns how many were new.
    @discardableResult
    public func sweep(at date: Date) async throws -> Int {
        let repository = revocations.repository
        let tenants = try await repository.read { try await repository.tenants(in: $0) }
            .filter { [.active, .reencrypting, .suspended].contains($0.state) }
        var started = 0
        for tenant in tenants {
            let (_, created) = try await revocations.check(tenant: tenant.id, trigger: RevocationTrigger(kind: .sweep, id: run(at: date)))
            if created { started += 1 }
        }
        return started
    }

    /// Sweeps now, then at the start of every period, until the task is cancelled. A failed sweep (the
    /// store away) is tried again at the next period; the checks it did start run anyway.
    public func run() async {
        while !Task.isCancelled {
            _ = try? await sweep(at: clock.now())
            let next = Date(timeIntervalSince1970: ((clock.now().timeIntervalSince1970 / period).rounded(.down) + 1) * period)
            do { try await clock.sleep(until: next) } catch { return }
        }
    }
}
