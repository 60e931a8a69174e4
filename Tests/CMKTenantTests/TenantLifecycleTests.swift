import CMKTenant
import Testing

/// The lifecycle machine without I/O: every (state, event) pair is either in the legal table below or
/// refused, with the actions each move owes.
@Suite struct TenantLifecycleTests {
    typealias Event = TenantLifecycle.Event

    /// Every legal move, written out by hand from design.md section 2.
    static let legal: [Event: (from: [TenantState?], to: TenantState)] = [
        .added: ([nil, .registered], .registered),
        .enrollmentStarted: ([nil, .registered, .enrollmentFailed, .enrolling], .enrolling),
        .contextAssignmentStarted: ([.enrolling, .assigningContext], .assigningContext),
        .policyVerificationStarted: ([.assigningContext, .verifyingPolicy, .awaitingCustomer], .verifyingPolicy),
        .customerActionNeeded: ([.verifyingPolicy, .probing, .awaitingCustomer], .awaitingCustomer),
        .probeStarted: ([.verifyingPolicy, .probing], .probing),
        .handedOver: ([.probing, .reencrypting], .reencrypting),
        .rotationStarted: ([.active, .reencrypting], .reencrypting),
        .reencryptionCompleted: ([.reencrypting, .active], .active),
        .enrollmentFailed: ([.enrolling, .assigningContext, .verifyingPolicy, .awaitingCustomer, .probing, .enrollmentFailed],
                            .enrollmentFailed),
        .revocationConfirmed: ([.active, .reencrypting, .suspended], .suspended),
        .reinstated: ([.suspended, .active], .active),
        .reinstatedToReencryption: ([.suspended, .reencrypting], .reencrypting),
        .reencryptionStarted: ([.active, .reencrypting], .reencrypting),
        .offboarded: ([.registered, .active, .suspended, .enrollmentFailed, .offboarded], .offboarded),
    ]

    static let states: [TenantState?] = [nil] + TenantState.allCases.map(Optional.some)

    @Test(arguments: Event.allCases)
    func everyStateEitherMovesAsTheTableSaysOrIsRefused(event: Event) throws {
        let rule = try #require(Self.legal[event])
        for state in Self.states {
            let lifecycle = TenantLifecycle(state: state)
            if rule.from.contains(state) {
                let transition = try lifecycle.apply(event)
                #expect(transition.to == rule.to, "\(event) from \(state?.rawValue ?? "new")")
                #expect(lifecycle.accepts(event))
            } else {
                #expect(!lifecycle.accepts(event))
                #expect {
                    try lifecycle.apply(event)
                } throws: { error in
                    (error as? TenantError)?.code == .illegalTransition
                        && (error as? TenantError)?.message.contains(state?.rawValue ?? "(new)") == true
                }
            }
        }
    }

    @Test func aSuspensionPurgesPausesAndTellsTheOperatorOnce() throws {
        let suspend = try TenantLifecycle(state: .active).apply(.revocationConfirmed)
        #expect(suspend.changed)
        #expect(suspend.actions == [.purgeMaterials, .pauseReencryption, .notifyOperator(.suspended)])
        // A second confirmation of the same revocation changes nothing and owes nothing.
        let again = try TenantLifecycle(state: .suspended).apply(.revocationConfirmed)
        #expect(!again.changed && again.actions.isEmpty)
        #expect(try TenantLifecycle(state: .suspended).apply(.reinstated).actions == [.notifyOperator(.reinstated)])
    }

    @Test func aGenerationSwitchPurgesCachedMaterials() throws {
        #expect(try TenantLifecycle(state: .probing).apply(.handedOver).actions == [.purgeMaterials])
        #expect(try TenantLifecycle(state: .active).apply(.rotationStarted).actions == [.purgeMaterials])
        #expect(try TenantLifecycle(state: .reencrypting).apply(.reencryptionCompleted).actions
            == [.disableOlderBackups, .notifyOperator(.reencryptionCompleted)])
    }

    @Test func onlySuspensionAndOffboardingStopEncryptAndDecrypt() {
        for state in TenantState.allCases {
            let lifecycle = TenantLifecycle(state: state)
            let stopped = state == .suspended || state == .offboarded
            #expect(lifecycle.allows(.decrypt) == !stopped, "\(state)")
            #expect(lifecycle.allows(.encrypt) == !stopped, "\(state)")
        }
        #expect(!TenantLifecycle(state: nil).allows(.decrypt))
    }

    @Test func backupsWaitWhileDataMovesAndRestoresNeedTheCurrentGeneration() {
        #expect(TenantLifecycle(state: .active, generation: 2).allows(.backup))
        #expect(!TenantLifecycle(state: .reencrypting, generation: 2).allows(.backup))
        #expect(!TenantLifecycle(state: .suspended, generation: 2).allows(.backup))
        #expect(TenantLifecycle(state: .active, generation: 2).allows(.restore(generation: 2)))
        #expect(!TenantLifecycle(state: .active, generation: 2).allows(.restore(generation: 1)))
        #expect(!TenantLifecycle(state: .suspended, generation: 2).allows(.restore(generation: 2)))
    }

    @Test func enrollmentStartsOnlyFromNewRegisteredOrFailedTenants() {
        #expect(TenantLifecycle(state: nil).allows(.enroll))
        #expect(TenantLifecycle(state: .registered).allows(.enroll))
        #expect(TenantLifecycle(state: .enrollmentFailed).allows(.enroll))
        #expect(!TenantLifecycle(state: .active).allows(.enroll))
        #expect(TenantLifecycle(state: .active).allows(.rotate))
        #expect(!TenantLifecycle(state: .registered).allows(.rotate))
    }
}
