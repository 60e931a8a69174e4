import Synchronization

/// A background task started at most once and cancelled on request.
final class ListenerTask: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let cancelled = Mutex(false)

    func startOnce(_ body: @escaping @Sendable () async -> Void) {
        task.withLock { task in
            guard task == nil, !cancelled.withLock({ $0 }) else { return }
            task = Task(operation: body)
        }
    }

    func cancel() {
        cancelled.withLock { $0 = true }
        task.withLock { $0 }?.cancel()
    }
}
