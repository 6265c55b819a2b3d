import KeygateStore
import Logging
import ServiceLifecycle
import Synchronization

/// Writes usage records off the request path with group commit: a request hands its record over and
/// returns at once; the writer, woken by the first record, waits `linger` for more and stores everything
/// queued by then in a single transaction. A `Service`: `serve` runs the writer; records handed over before
/// it starts wait in the queue.
///
/// Why the wait: without it the writer keeps up with each record on its own, and a one-row transaction
/// writes two or three whole 4 KiB pages to the WAL (table and indexes), about 7 KiB per request measured.
/// A batch of a few milliseconds' records shares those pages. Only records queued here can wait: a charge
/// and its record are stored together in the charge's own transaction, before the response ends.
///
/// Invariant: `run()` returns only after every record handed over has been written (or its failure
/// logged), so a graceful stop loses nothing; a crash can lose at most the last `linger` of queued records.
/// Records handed over after `run()` returned (none in `serve`: the HTTP server stops first) are written by
/// `writeQueued()`, which `Gateway.shutdown()` calls before closing the store.
final class UsageRecorder: Service {
    /// How long the writer collects records before a transaction.
    static let linger = Duration.milliseconds(10)

    private let queue: Queue
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

    init(store: any UsageStore, logger: Logger) {
        self.queue = Queue(store: store, logger: logger)
        let (wakeups, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.wakeups = wakeups
        self.wakeupsContinuation = continuation
    }

    func record(_ record: UsageRecord) {
        queue.pending.withLock { $0.append(record) }
        wakeupsContinuation.yield()
    }

    /// Writes batches until graceful shutdown, then everything still queued. Call it once.
    ///
    /// Graceful shutdown ends the wake-ups rather than cancelling the task, so a batch being written is never
    /// interrupted. The last write runs in its own task: after a cancellation (a forced stop) it still gets
    /// its transaction.
    func run() async {
        await withTaskCancellationOrGracefulShutdownHandler {
            for await _ in wakeups {
                try? await Task.sleep(for: Self.linger)
                await queue.flush()
            }
        } onCancelOrGracefulShutdown: { [wakeupsContinuation] in
            wakeupsContinuation.finish()
        }
        await writeQueued()
    }

    /// Writes whatever is queued now, outside the caller's cancellation.
    func writeQueued() async {
        let queue = queue
        await Task { await queue.flush() }.value
    }

    final class Queue: Sendable {
        let pending = Mutex<[UsageRecord]>([])
        let store: any UsageStore
        let logger: Logger

        init(store: any UsageStore, logger: Logger) {
            self.store = store
            self.logger = logger
        }

        func flush() async {
            while true {
                let batch = pending.withLock { records -> [UsageRecord] in
                    defer { records.removeAll(keepingCapacity: true) }
                    return records
                }
                guard !batch.isEmpty else { return }
                await write(batch)
            }
        }

        /// A failed write is retried (the database may be briefly busy); a batch that still fails is
        /// reported with its request ids so the operator can reconcile.
        private func write(_ batch: [UsageRecord]) async {
            var delay = Duration.milliseconds(50)
            for attempt in 1...5 {
                do {
                    try await store.recordUsage(batch)
                    return
                } catch {
                    if attempt == 5 {
                        logger.error(
                            "Usage records could not be written",
                            metadata: [
                                "count": "\(batch.count)", "request_ids": "\(batch.map(\.requestID).joined(separator: ","))",
                                "error": "\(error)",
                            ])
                        return
                    }
                    try? await Task.sleep(for: delay)
                    delay *= 2
                }
            }
        }
    }
}
