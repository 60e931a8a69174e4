import Foundation
import GRDB
import Synchronization

/// A transaction open on the SQLite writer (or a reader), usable from async code: the journal's step and a
/// transactional handler's tenant writes run in it and commit together.
///
/// GRDB hands out a `Database` only to a synchronous closure on the connection's own dispatch queue, and
/// an async handler cannot run inside such a closure. So while the transaction is open, that queue's
/// thread waits in `Mailbox.serve` and runs, one at a time, the statements async code submits through
/// `execute(_:)`; it is GRDB's thread, never one of the cooperative pool's. The transaction ends when the
/// body that owns it returns: statements submitted after that are refused.
public final class SQLiteTransaction: Sendable {
    private let mailbox: Mailbox

    fileprivate init(mailbox: Mailbox) {
        self.mailbox = mailbox
    }

    /// Runs `body` on the connection, inside this transaction, and returns its result.
    public func execute<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = mailbox.submit { db in
                continuation.resume(with: Result { try body(db) })
            }
            if !accepted {
                continuation.resume(
                    throwing: SQLiteTransactionMisuse("a statement was submitted after its SQLite transaction ended"))
            }
        }
    }

    /// Runs `body` with a transaction served by `db`'s thread, which waits here until `body` returns.
    ///
    /// Call from inside a GRDB database access (`pool.writeWithoutTransaction`, `pool.read`), with the
    /// transaction already begun; the caller commits or rolls back according to the result.
    static func serve<T: Sendable>(
        _ db: Database, _ body: @escaping @Sendable (SQLiteTransaction) async throws -> T
    ) throws -> T {
        let mailbox = Mailbox()
        let transaction = SQLiteTransaction(mailbox: mailbox)
        let outcome = Outcome<T>()
        Task {
            do {
                outcome.set(.success(try await body(transaction)))
            } catch {
                outcome.set(.failure(error))
            }
            mailbox.close()
        }
        mailbox.serve(db)
        return try outcome.take().get()
    }
}

/// The statements waiting for the connection's thread; `condition` guards `jobs` and `closed`.
private final class Mailbox: @unchecked Sendable {
    typealias Job = (Database) -> Void

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var closed = false

    /// Queues a job; false once the transaction's body has returned.
    func submit(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    /// Runs jobs on the calling thread until `close` and the last job.
    func serve(_ db: Database) {
        while true {
            condition.lock()
            while jobs.isEmpty && !closed {
                condition.wait()
            }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(db)
        }
    }
}

/// The result of a transaction's body, handed from its task to the connection's thread.
private final class Outcome<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, any Error>?>(nil)

    func set(_ result: Result<T, any Error>) {
        value.withLock { $0 = result }
    }

    func take() -> Result<T, any Error> {
        value.withLock { $0 } ?? .failure(SQLiteTransactionMisuse("an SQLite transaction ended without a result"))
    }
}

/// A misuse of the SQLite transaction bridge; reported as a store failure by the journal and the repository.
struct SQLiteTransactionMisuse: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
