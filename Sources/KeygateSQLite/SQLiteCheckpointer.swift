import Dispatch
import GRDB
import ServiceLifecycle
import Synchronization

/// Moves the WAL's pages into the database file from a connection of its own, a few times a second, so that
/// no request's commit pays for it. (By default SQLite checkpoints inside the commit that crosses 1,000 WAL
/// pages, which syncs the database file: a few milliseconds added to one request in a hundred.) A passive
/// checkpoint waits for nobody: readers and the writer go on while it copies.
///
/// A `Service`: `serve` runs it in its service group (`SQLiteStore.backgroundServices`), and it ends at
/// graceful shutdown or cancellation. Until a group runs it, the store runs the same loop itself
/// (`startOnItsOwn()`), so a process without a service group still checkpoints; a group's `run()` takes
/// that loop over, so there is never more than one.
///
/// Invariant: the writer connection keeps an automatic checkpoint as a backstop (at `backstopPages`), so
/// the WAL stays bounded even if this stops.
final class SQLiteCheckpointer: Service, Sendable {
    static let backstopPages = 20_000
    private let connection: DatabaseQueue
    private let interval: Duration
    /// Every use of `connection` runs on this queue, the close included.
    private let queue = DispatchQueue(label: "keygate.sqlite.checkpoint")
    /// Set by `stop()`: the store closed, so no loop may touch the connection again.
    private let closed = Mutex(false)
    /// The loop the store started itself, until a service group runs this (then `nil`).
    private let ownLoop = Mutex<Task<Void, Never>?>(nil)

    init(path: String, interval: Duration = .milliseconds(250)) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
    }

    /// Checkpoints until graceful shutdown or cancellation. If the store closes first, it waits for the
    /// shutdown idle: a service that returns early would end the whole group.
    func run() async throws {
        ownLoop.withLock { $0.take() }?.cancel()
        await cancelWhenGracefulShutdown {
            await self.checkpointUntilCancelled()
            try? await gracefulShutdown()
        }
    }

    /// Runs the loop in a task of the store's own, until `stop()` or a service group's `run()`.
    func startOnItsOwn() {
        let task = Task { await self.checkpointUntilCancelled() }
        ownLoop.withLock { $0 = task }
    }

    /// Ends the store's own loop and closes the connection (the store is closing). A loop still running in a
    /// service group stops at its next tick. The close runs on the checkpoint queue, after any copy under way:
    /// a closed connection is never used.
    func stop() async {
        if let loop = ownLoop.withLock({ $0.take() }) {
            loop.cancel()
            await loop.value
        }
        closed.withLock { $0 = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async { [connection] in
                try? connection.close()
                done.resume()
            }
        }
    }

    private func checkpointUntilCancelled() async {
        while (try? await Task.sleep(for: interval)) != nil, !closed.withLock({ $0 }) {
            // Busy: the next tick tries again. The copy runs on a queue of its own, so no task thread waits for
            // it, and it is never interrupted half-way (cancelling a GRDB async access interrupts the connection).
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                queue.async { [self] in
                    if !closed.withLock({ $0 }) {
                        try? connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                    }
                    done.resume()
                }
            }
        }
    }
}
