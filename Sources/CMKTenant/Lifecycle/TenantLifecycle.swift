/// The tenant lifecycle of design.md section 2 as one pure state machine: an event in, the new state
/// and the actions its owner must perform out.
///
/// Shaped like the engine's `ExecutionStepper`: no I/O, no clock, so every legal and illegal move is
/// tested without a store. The store applies its answer (`TenantRepository.apply`), and nothing else writes
/// a tenant's state; the gates (`allows(_:)`) answer what the tenant may do now.
public struct TenantLifecycle: Sendable, Equatable {
    /// The tenant's state; nil before it exists.
    public let state: TenantState?
    /// The tenant's current key generation (0: the provider's key).
    public let generation: Int

    public init(state: TenantState?, generation: Int = 0) {
        self.state = state
        self.generation = generation
    }

    /// What happened to the tenant.
    public enum Event: String, Sendable, Hashable, CaseIterable {
        /// `cmkctl tenants add`: a tenant on the provider's key, with its context identifier.
        case added
        /// An enrollment's first step (a new tenant, a registered one, or one whose enrollment failed).
        case enrollmentStarted
        case contextAssignmentStarted
        /// The key policies are being (re-)read: first, or after the customer was asked to fix something.
        case policyVerificationStarted
        /// Something only the customer can fix blocks the enrollment.
        case customerActionNeeded
        case probeStarted
        /// The new generation is recorded; re-encryption from older generations begins.
        case handedOver
        /// `cmkctl reencrypt` of an active tenant, or a paused sweep's reason changing: items move.
        case reencryptionStarted
        case reencryptionCompleted
        case enrollmentFailed
        /// `cmkctl rotate`: a new generation for an active tenant.
        case rotationStarted
        /// Our own probe's revocation-class answer: the only evidence that suspends.
        case revocationConfirmed
        /// A passing probe of a suspended tenant's keys.
        case reinstated
        /// A passing probe of a tenant suspended while its re-encryption was unfinished: it resumes.
        case reinstatedToReencryption
        case offboarded
    }

    /// Side effects the owner of a transition performs (in the same transaction where they are writes).
    public enum Action: Sendable, Hashable {
        /// Drop cached data keys of the tenant everywhere (a generation switch, a suspension).
        case purgeMaterials
        case notifyOperator(Notice)
        /// Stop re-encryption sweeps deterministically: no half-written item.
        case pauseReencryption
        /// Backups under generations older than the current one can no longer be restored.
        case disableOlderBackups
    }

    /// What the operator's platform is told.
    public enum Notice: String, Sendable, Hashable {
        case suspended, reinstated, reencryptionCompleted = "reencryption-completed", offboarded
    }

    /// A legal move: the state after the event and what to do about it. `changed` is false for a move
    /// to the state the tenant is already in, which at-least-once callers repeat harmlessly.
    public struct Transition: Sendable, Equatable {
        public let from: TenantState?
        public let to: TenantState
        public let actions: [Action]
        public var changed: Bool { from != to }
    }

    /// The states an enrollment passes through before the tenant's own keys are in use.
    static let enrolling: Set<TenantState> = [.enrolling, .assigningContext, .verifyingPolicy, .awaitingCustomer, .probing]

    /// The states each event may start from, and where it leads.
    private static func rule(for event: Event) -> (from: Set<TenantState?>, to: TenantState, actions: [Action]) {
        switch event {
        case .added:
            return ([nil, .registered], .registered, [])
        case .enrollmentStarted:
            return ([nil, .registered, .enrollmentFailed, .enrolling], .enrolling, [])
        case .contextAssignmentStarted:
            return ([.enrolling, .assigningContext], .assigningContext, [])
        case .policyVerificationStarted:
            return ([.assigningContext, .verifyingPolicy, .awaitingCustomer], .verifyingPolicy, [])
        case .customerActionNeeded:
            return ([.verifyingPolicy, .probing, .awaitingCustomer], .awaitingCustomer, [])
        case .probeStarted:
            return ([.verifyingPolicy, .probing], .probing, [])
        case .handedOver:
            return ([.probing, .reencrypting], .reencrypting, [.purgeMaterials])
        case .rotationStarted:
            return ([.active, .reencrypting], .reencrypting, [.purgeMaterials])
        case .reencryptionStarted:
            return ([.active, .reencrypting], .reencrypting, [])
        case .reencryptionCompleted:
            return ([.reencrypting, .active], .active, [.disableOlderBackups, .notifyOperator(.reencryptionCompleted)])
        case .enrollmentFailed:
            return (Set(enrolling.map(Optional.some)).union([.enrollmentFailed]), .enrollmentFailed, [])
        case .revocationConfirmed:
            return ([.active, .reencrypting, .suspended], .suspended,
                    [.purgeMaterials, .pauseReencryption, .notifyOperator(.suspended)])
        case .reinstated:
            return ([.suspended, .active], .active, [.notifyOperator(.reinstated)])
        case .reinstatedToReencryption:
            return ([.suspended, .reencrypting], .reencrypting, [.notifyOperator(.reinstated)])
        case .offboarded:
            return ([.registered, .active, .suspended, .enrollmentFailed, .offboarded], .offboarded,
                    [.purgeMaterials, .notifyOperator(.offboarded)])
        }
    }

    /// The transition `event` makes from the current state, or `illegalTransition` naming both.
    public func apply(_ event: Event) throws -> Transition {
        let rule = Self.rule(for: event)
        guard rule.from.contains(state) else {
            throw TenantError(.illegalTransition, "\(event.rawValue) is not possible for a tenant that is \(state?.rawValue ?? "(new)")")
        }
        // A repeat (the same state again) changes nothing, so it has nothing to do either.
        return Transition(from: state, to: rule.to, actions: state == rule.to ? [] : rule.actions)
    }

    /// Whether `event` is legal now, for callers that skip rather than fail (a failure handler).
    public func accepts(_ event: Event) -> Bool {
        Self.rule(for: event).from.contains(state)
    }

    /// What a tenant may do; the gates every operation asks before it touches a key.
    public enum Operation: Sendable, Hashable {
        case encrypt, decrypt
        case enroll
        case rotate
        case backup
        /// Restore a backup written under `generation`.
        case restore(generation: Int)
    }

    /// Whether the tenant may do `operation` in its current state.
    ///
    /// A tenant keeps encrypting and decrypting on its current generation while it enrolls or waits for
    /// the customer; only a confirmed revocation (suspended) or offboarding stops it. Backups are
    /// refused while data moves between generations, and a restore needs an active tenant whose
    /// current generation wrote the backup.
    public func allows(_ operation: Operation) -> Bool {
        guard let state else { return operation == .enroll }
        switch operation {
        case .encrypt, .decrypt:
            return state != .suspended && state != .offboarded
        case .enroll:
            return state == .registered || state == .enrollmentFailed
        case .rotate:
            return state == .active
        case .backup:
            return state != .suspended && state != .offboarded && state != .reencrypting
        case .restore(let backupGeneration):
            return state == .active && backupGeneration == generation
        }
    }
}
