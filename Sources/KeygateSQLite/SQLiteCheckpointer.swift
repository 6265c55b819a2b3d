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
    /// The loop the store started itself, until a service group runs this (then `nil`).
    private let ownLoop = Mutex<Task<Void, Never>?>(nil)

    init(path: String, interval: Duration = .milliseconds(250)) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
    }

    /// Checkpoints until graceful shutdown or cancellation.
    func run() async throws {
        ownLoop.withLock { $0.take() }?.cancel()
        await cancelWhenGracefulShutdown { await self.checkpointUntilCancelled() }
    }

    /// Runs the loop in a task of the store's own, until `stop()` or a service group's `run()`.
    func startOnItsOwn() {
        let task = Task { await self.checkpointUntilCancelled() }
        ownLoop.withLock { $0 = task }
    }

    /// Ends the store's own loop and closes the connection (the store is closing).
    func stop() {
        ownLoop.withLock { $0.take() }?.cancel()
        try? connection.close()
    }

    private func checkpointUntilCancelled() async {
        while (try? await Task.sleep(for: interval)) != nil {
            // Busy, interrupted or closed: the next tick tries again. GRDB runs it on the connection's own
            // queue, so no task thread waits for the copy.
            try? await connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        }
    }
}
