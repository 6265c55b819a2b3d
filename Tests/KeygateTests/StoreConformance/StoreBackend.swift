import Foundation
import GRDB
import KeygateSQLite
import KeygateStore
import Testing

/// A store backend the conformance suite runs on: every test of `StoreConformanceTests` and
/// `LedgerConformanceTests` runs once per entry of `all`. A new backend (PostgreSQL) adds its factory there.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    let name: String
    /// A fresh, empty database, not yet migrated.
    let open: @Sendable () async throws -> StoreUnderTest

    var testDescription: String { name }

    static let all: [StoreBackend] = [.sqlite]

    static let sqlite = StoreBackend(name: "SQLite") {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/k.db"
        return StoreUnderTest(
            store: try SQLiteStore(path: path),
            openAnother: { try SQLiteStore(path: path) },
            reservationStates: {
                let db = try DatabaseQueue(path: path)
                let states = try await db.read { db in
                    try String.fetchAll(db, sql: "SELECT request_id || ':' || state FROM reservations ORDER BY request_id")
                }
                try db.close()
                return states
            },
            destroy: { try? FileManager.default.removeItem(atPath: dir) })
    }
}

/// One fresh database of a backend, with what the suite needs beyond the `Store` protocol.
struct StoreUnderTest: Sendable {
    let store: any Store
    /// A second, independent store on the same database: it stands in for a second process.
    let openAnother: @Sendable () async throws -> any Store
    /// Every reservation row as `request_id:state`, by request id, read beside the store (what requests left behind).
    let reservationStates: @Sendable () async throws -> [String]
    /// Removes the database (after the store is closed).
    let destroy: @Sendable () async throws -> Void

    /// Runs `body` on this database and removes it afterwards, whether `body` threw or not.
    func use(_ body: (StoreUnderTest) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            try? await store.close()
            try? await destroy()
            throw error
        }
        try await destroy()
    }
}
