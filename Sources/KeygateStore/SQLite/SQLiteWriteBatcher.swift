import GRDB
import Synchronization

/// Group commit for SQLite writes. Every write waiting at a moment runs in one `BEGIN IMMEDIATE`
/// transaction, each inside its own savepoint, and the transaction commits once; only then does each
/// caller get its result. SQLite allows one writer at a time and a commit costs a WAL append (and a sync),
/// so under load one commit for many writes is what lets the ledger keep up; under no load a write is a
/// batch of one and waits for nothing.
///
/// Invariants:
/// - A write returns only after the transaction holding it has committed: what a caller was told is on disk.
/// - Writes run one after another, in arrival order, each seeing the ones before it (the same as separate
///   transactions would): a conditional reserve in a batch sees every reserve ahead of it.
/// - A write that throws rolls back to its savepoint and fails alone; the rest of its batch commits.
///   If the commit itself fails, every write of the batch fails and none of them happened.
/// - Another process writing the same file waits for the batch's lock like for any transaction.
final class SQLiteWriteBatcher: Sendable {
    /// One queued write: `run` executes it inside the batch (storing its own outcome); `finish` hands the
    /// outcome over once the batch's fate is known (`nil`: committed).
    struct Write: Sendable {
        /// Returns the write's error, if it failed.
        let run: @Sendable (Database) -> Error?
        let finish: @Sendable (Error?) -> Void
    }

    private struct State {
        var pending: [Write] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Caps a transaction's length, so the first write of a long queue does not wait for the whole queue.
    private let maxBatch: Int

    init(pool: DatabasePool, maxBatch: Int = 512) {
        self.pool = pool
        self.maxBatch = maxBatch
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let outcome = Outcome<T>()
            enqueue(Write(
                run: { db in
                    // A savepoint of cached statements (GRDB's `inSavepoint` prepares its SQL every time).
                    do {
                        try db.cachedStatement(sql: "SAVEPOINT keygate_write").execute()
                    } catch {
                        outcome.result = .failure(error)
                        return error
                    }
                    do {
                        outcome.result = .success(try body(db))
                        try db.cachedStatement(sql: "RELEASE keygate_write").execute()
                        return nil
                    } catch {
                        outcome.result = .failure(error)
                        if db.isInsideTransaction {
                            try? db.cachedStatement(sql: "ROLLBACK TO keygate_write").execute()
                            try? db.cachedStatement(sql: "RELEASE keygate_write").execute()
                        }
                        return error
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.result!)
                    }
                }))
        }
    }

    private func enqueue(_ write: Write) {
        let startDraining = state.withLock { state -> Bool in
            state.pending.append(write)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDraining {
            pool.asyncWriteWithoutTransaction { db in self.drain(db) }
        }
    }

    /// Runs on GRDB's writer queue until nothing is pending.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> [Write] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else { return }
            var commitError: Error?
            do {
                try db.inTransaction(.immediate) {
                    for write in batch {
                        // Some SQLite errors (disk full, I/O) roll the whole transaction back: then none of
                        // the batch happened, and the batch fails as one.
                        if let error = write.run(db), !db.isInsideTransaction { throw error }
                    }
                    return .commit
                }
            } catch {
                commitError = error
            }
            for write in batch { write.finish(commitError) }
        }
    }
}

/// A write's result, set on the writer queue before `finish` reads it on the same queue.
private final class Outcome<T: Sendable>: @unchecked Sendable {
    var result: Result<T, Error>?
}
