import CoreMetrics
import Foundation
import GRDB
import KeygateCore
import KeygateStore
import ServiceLifecycle

/// The embedded default: one SQLite file in WAL mode through a GRDB pool (many readers, one writer).
/// The CLI and a running server may open the same file at once; writers wait on each other (busy timeout)
/// instead of failing.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    /// Every ledger change and usage record goes through it (group commit).
    let writes: SQLiteWriteBatcher
    private let checkpointer: SQLiteCheckpointer
    public let path: String

    /// When a commit reaches the disk (`PRAGMA synchronous`).
    public enum Durability: String, Sendable {
        /// WAL appended before the commit returns: survives any crash of the process (the default).
        case normal
        /// WAL also synced to the device before the commit returns: survives a power loss too, at the price of
        /// one sync per commit (group commit shares it between the writes waiting together).
        case full
    }

    /// `metrics`: where the group commit reports each batch (the serving gateway's registry; nil: `MetricsSystem`).
    public init(path: String, durability: Durability = .normal, metrics: (any MetricsFactory)? = nil) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets NORMAL when it opens a pool in WAL mode; only the writer connection commits.
            if durability == .full {
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            }
        } catch {
            throw StoreError.unavailable("cannot open SQLite database \(path): \(Self.reason(error))")
        }
        writes = SQLiteWriteBatcher(pool: pool, metrics: LedgerCommitMetrics(backend: "sqlite", factory: metrics))
        do {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = \(SQLiteCheckpointer.backstopPages)") }
            checkpointer = try SQLiteCheckpointer(path: path)
        } catch {
            throw StoreError.unavailable("cannot open SQLite database \(path): \(Self.reason(error))")
        }
        // Until `serve` runs `backgroundServices` in its service group (which then takes the loop over).
        checkpointer.startOnItsOwn()
    }

    static func reason(_ error: Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }

    public func migrate() async throws {
        do {
            try SQLiteMigrations.migrator.migrate(pool)
        } catch {
            throw StoreError.unavailable("cannot prepare SQLite database \(path): \(Self.reason(error))")
        }
    }

    public func checkReachable() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// The WAL checkpointer (see `SQLiteCheckpointer`).
    public var backgroundServices: [any Service] { [checkpointer] }

    public func close() async throws {
        await checkpointer.stop()
        try pool.close()
    }

    /// An organisation's newest rows of a table (the API's lists: ledger, usage), newest first.
    static func newestRows(_ db: Database, of table: String, orderedBy order: String, organizationID: String, limit: Int) throws -> [Row] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM \(table) WHERE organization_id = ? ORDER BY \(order) LIMIT ?", arguments: [organizationID, limit])
    }
}
