/// Runs an operation with an upper bound on its duration, cancelling it when the bound passes.
enum Deadline {
    static func run<T: Sendable>(within limit: Duration, on clock: any Clock<Duration>, what: String,
                                 _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await clock.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            if let first = try await group.next(), let value = first {
                return value
            }
            throw KMSError(.unreachable, "\(what) did not answer within \(limit)")
        }
    }
}
