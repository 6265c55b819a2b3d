import Dispatch
import GRDB

/// Moves the WAL's pages into the database file from a connection and a thread of its own, a few times a
/// second, so that no request's commit pays for it. (By default SQLite checkpoints inside the commit that
/// crosses 1,000 WAL pages, which syncs the database file: a few milliseconds added to one request in a
/// hundred.) A passive checkpoint waits for nobody: readers and the writer go on while it copies.
///
/// Invariant: the writer connection keeps an automatic checkpoint as a backstop (at `backstopPages`), so
/// the WAL stays bounded even if this stops.
/// `@unchecked`: the timer is only created in `init` and cancelled in `stop()` (DispatchSource is thread-safe).
final class SQLiteCheckpointer: @unchecked Sendable {
    static let backstopPages = 20_000
    private let connection: DatabaseQueue
    private let timer: DispatchSourceTimer

    init(path: String, interval: DispatchTimeInterval = .milliseconds(250)) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "keygate.sqlite.checkpoint"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [connection] in
            // Busy or interrupted: the next tick tries again.
            try? connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        }
        timer.resume()
    }

    func stop() {
        timer.cancel()
        try? connection.close()
    }
}
