import GRDB
import KeygateStore
import Synchronization

/// Group commit for SQLite writes. Every write waiting at a moment runs in one `BEGIN IMMEDIATE`
/// transaction, each inside its own savepoint, and the transaction commits once; only then does each
/// caller get its result. SQLite allows one writer at a time and a commit costs a WAL append (and, with
/// `synchronous = FULL`, a sync), so under load one commit for many writes is what lets the ledger keep up.
/// Under no load a write is a batch of one, written on the caller's own thread: no thread hop, no waiting.
///
/// Invariants:
/// - A write returns only after the transaction holding it has committed: what a caller was told is on disk.
/// - Writes run one after another, in arrival order, each seeing the ones before it (the same as separate
///   transactions would): a conditional reserve in a batch sees every reserve ahead of it.
/// - A write that throws rolls back to its savepoint and fails alone; the rest of its batch commits.
///   If the commit itself fails, every write of the batch fails and none of them happened.
/// - At most one batch is being written at a time (`draining`), by the caller that found none running or
///   by GRDB's writer queue for the writes that queued up behind it.
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
    /// Each batch's commit time and size, for `/metrics`.
    private let metrics: LedgerCommitMetrics

    init(pool: DatabasePool, maxBatch: Int = 512, metrics: LedgerCommitMetrics = LedgerCommitMetrics(backend: "sqlite", factory: nil)) {
        self.pool = pool
        self.maxBatch = maxBatch
        self.metrics = metrics
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        let run = Self.runner(body, into: outcome)
        // Fast path, whenever no batch is being written: this caller writes its own batch on its own thread
        // (GRDB's writer queue runs a `sync` block on the caller's thread when idle), so an uncontended write
        // costs no thread hop at all. Writes arriving meanwhile queue up for the next batch.
        if state.withLock({ state -> Bool in
            guard !state.draining else { return false }
            state.draining = true
            return true
        }) {
            let commitError = lead(first: Write(run: run, finish: { _ in }))
            if let commitError { throw commitError }
            return try outcome.result!.get()
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let write = Write(
                run: run,
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.result!)
                    }
                })
            let mustLead = state.withLock { state -> Bool in
                guard !state.draining else {
                    state.pending.append(write)
                    return false
                }
                state.draining = true
                return true
            }
            // The batch being written ended between the two looks: write this one now.
            if mustLead { _ = lead(first: write) }
        }
    }

    /// Runs `body` inside a savepoint of cached statements (GRDB's `inSavepoint` prepares its SQL every time),
    /// storing its outcome; returns its error, if any.
    private static func runner<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, into outcome: Outcome<T>
    ) -> @Sendable (Database) -> Error? {
        { db in
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
        }
    }

    /// Writes `first` and whatever is queued, as one batch, on the calling thread; hands any writes that
    /// arrived during it to the writer queue. Returns the batch's commit error. Called with `draining` set.
    private func lead(first: Write) -> Error? {
        let batch = [first] + takePending(limit: maxBatch - 1)
        let commitError = pool.writeWithoutTransaction { db in commit(batch, db) }
        for write in batch.dropFirst() { write.finish(commitError) }
        first.finish(commitError)
        if state.withLock({ state -> Bool in
            guard !state.pending.isEmpty else {
                state.draining = false
                return false
            }
            return true
        }) {
            pool.asyncWriteWithoutTransaction { db in self.drain(db) }
        }
        return commitError
    }

    /// Up to `limit` queued writes, oldest first.
    private func takePending(limit: Int) -> [Write] {
        state.withLock { state in Self.take(&state, limit: limit) }
    }

    private static func take(_ state: inout State, limit: Int) -> [Write] {
        let count = min(state.pending.count, limit)
        guard count > 0 else { return [] }
        let batch = Array(state.pending.prefix(count))
        state.pending.removeFirst(count)
        return batch
    }

    /// Runs on GRDB's writer queue until nothing is pending, then lets the next caller lead.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> [Write] in
                let batch = Self.take(&state, limit: maxBatch)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let commitError = commit(batch, db)
            for write in batch { write.finish(commitError) }
        }
    }

    /// One transaction for the batch; nil if it committed.
    private func commit(_ batch: [Write], _ db: Database) -> Error? {
        let start = ContinuousClock.now
        defer { metrics.committed(size: batch.count, since: start) }
        do {
            try db.inTransaction(.immediate) {
                for write in batch {
                    // Some SQLite errors (disk full, I/O) roll the whole transaction back: then none of
                    // the batch happened, and the batch fails as one.
                    if let error = write.run(db), !db.isInsideTransaction { throw error }
                }
                return .commit
            }
            return nil
        } catch {
            return error
        }
    }
}

/// A write's result: set inside the batch, read after it (by `finish`, or by the caller that led the batch).
private final class Outcome<T: Sendable>: @unchecked Sendable {
    var result: Result<T, Error>?
}
