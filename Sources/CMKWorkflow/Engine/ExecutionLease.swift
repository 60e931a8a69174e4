import Foundation

/// Who holds an execution and until when: a worker's claim, renewed while it is alive.
public struct ExecutionLease: Sendable, Equatable {
    public let owner: String
    public let expiresAt: Date

    public init(owner: String, expiresAt: Date) {
        self.owner = owner
        self.expiresAt = expiresAt
    }
}
