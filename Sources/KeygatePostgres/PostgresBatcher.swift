import KeygateStore
import Synchronization

/// Gathers the calls waiting at a moment into one batch that goes to the database as one transaction, and gives
/// each caller its own answer. Under no load a call is a batch of one, run by the caller itself (no hop); calls
/// that arrive while a batch is being written form the next one, which a task of its own writes as soon as the
/// current one is done. One batch of a kind is in flight per process at a time: a busy organisation's row is the
/// unit that serializes anyway, and the next batch grows while the current one waits for its commit.
///
/// Invariants:
/// - A call is answered only after the batch holding it has committed (or failed): what it was told is durable.
/// - Calls run in arrival order within a batch, except that a call whose key is already in the batch waits for the
///   next one: a batch never holds the same request twice (the database functions rely on it).
/// - `run` answers every item of the batch, in the batch's order; it never throws (a failure is an item's answer).
final class PostgresBatcher<Item: Sendable, Answer: Sendable>: Sendable {
    typealias Run = @Sendable ([Item]) async -> [Result<Answer, any Error>]

    private struct Waiting: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Answer, any Error>
    }

    private struct State: Sendable {
        var pending: [Waiting] = []
        var running = false
    }

    private let state = Mutex(State())
    private let batches = Atomic<Int>(0)
    /// How many batches (statements) this batcher has written: with the calls it answered, the mean batch size.
    var batchesWritten: Int { batches.load(ordering: .relaxed) }
    private let maxBatch: Int
    private let key: @Sendable (Item) -> String
    /// Each batch's time to its answer (the commit) and size, for `/metrics`.
    private let metrics: LedgerCommitMetrics

    /// `maxBatch` caps a transaction, so the first call of a long queue does not wait for the whole queue (and a
    /// batch stays far below PostgreSQL's 65,535 parameters a statement).
    init(
        maxBatch: Int = 500, key: @escaping @Sendable (Item) -> String,
        metrics: LedgerCommitMetrics = LedgerCommitMetrics(backend: "postgres", factory: nil)
    ) {
        self.maxBatch = maxBatch
        self.key = key
        self.metrics = metrics
    }

    func submit(_ item: Item, run: @escaping Run) async throws -> Answer {
        let leads = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if leads {
            batches.add(1, ordering: .relaxed)
            let start = ContinuousClock.now
            let answer = await run([item]).first ?? .failure(StoreError.unavailable("a batch gave no answer"))
            metrics.committed(size: 1, since: start)
            handOver(run: run)
            return try answer.get()
        }
        return try await withCheckedThrowingContinuation { continuation in
            let leadsNow = state.withLock { state -> Bool in
                state.pending.append(Waiting(item: item, continuation: continuation))
                guard !state.running else { return false }
                state.running = true
                return true
            }
            // The batch being written ended between the two looks: this call starts the next one.
            if leadsNow { Task { await self.drain(run: run) } }
        }
    }

    /// After a batch: the calls that queued meanwhile are written by a task of their own, or the batcher idles.
    private func handOver(run: @escaping Run) {
        let more = state.withLock { state -> Bool in
            guard !state.pending.isEmpty else {
                state.running = false
                return false
            }
            return true
        }
        if more { Task { await self.drain(run: run) } }
    }

    private func drain(run: @escaping Run) async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                guard !state.pending.isEmpty else {
                    state.running = false
                    return []
                }
                var taken: [Waiting] = []
                var left: [Waiting] = []
                var keys = Set<String>()
                for waiting in state.pending {
                    if taken.count < maxBatch, keys.insert(key(waiting.item)).inserted {
                        taken.append(waiting)
                    } else {
                        left.append(waiting)
                    }
                }
                state.pending = left
                return taken
            }
            guard !batch.isEmpty else { return }
            batches.add(1, ordering: .relaxed)
            let start = ContinuousClock.now
            let answers = await run(batch.map(\.item))
            metrics.committed(size: batch.count, since: start)
            for (index, waiting) in batch.enumerated() {
                waiting.continuation.resume(with: index < answers.count ? answers[index] : .failure(StoreError.unavailable("a batch gave no answer")))
            }
        }
    }
}
