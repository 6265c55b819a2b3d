import Foundation
import GRDB
import KeygatePostgres
import KeygateSQLite
import KeygateStore
import Logging
import PostgresNIO
import Testing

/// A store backend the conformance suite runs on: every test of `StoreConformanceTests` and
/// `LedgerConformanceTests` runs once per entry of `all`. A new backend (PostgreSQL) adds its factory there.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    let name: String
    /// A fresh, empty database, not yet migrated.
    let open: @Sendable () async throws -> StoreUnderTest

    var testDescription: String { name }

    /// SQLite always; PostgreSQL when `KEYGATE_TEST_DATABASE_URL` names a server whose role may create
    /// databases (`.ci/run` starts one; see the README's "Running the tests on PostgreSQL").
    static let all: [StoreBackend] = [.sqlite] + (postgres.map { [$0] } ?? [])

    /// Each `open()` creates a fresh database on the server (dropped by `destroy`), so tests never share rows.
    static let postgres: StoreBackend? = {
        guard let text = ProcessInfo.processInfo.environment["KEYGATE_TEST_DATABASE_URL"], !text.isEmpty else { return nil }
        guard let server = try? PostgresDatabaseURL(parsing: text) else {
            fatalError("KEYGATE_TEST_DATABASE_URL is not a postgres:// URL")
        }
        return StoreBackend(name: "PostgreSQL") {
            let name = "kg_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
            try await PostgresTestServer.execute("CREATE DATABASE \(name)", on: server)
            var fresh = server
            fresh.database = String(name)
            fresh.poolSize = 4
            let url = fresh
            return StoreUnderTest(
                store: PostgresStore(url: url),
                openAnother: { PostgresStore(url: url) },
                reservationStates: {
                    try await PostgresTestServer.strings(
                        "SELECT request_id || ':' || state FROM reservations ORDER BY request_id", on: url)
                },
                destroy: { try await PostgresTestServer.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: server) })
        }
    }()

    /// A fresh database of this backend, migrated, for `body`; closed and removed afterwards.
    func withMigratedStore(_ body: (StoreUnderTest) async throws -> Void) async throws {
        try await open().use { database in
            try await database.store.migrate()
            try await body(database)
            try await database.store.close()
        }
    }

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

/// Statements the tests run beside the store (creating and dropping their databases, reading raw rows).
enum PostgresTestServer {
    static func execute(_ sql: String, on url: PostgresDatabaseURL) async throws {
        _ = try await strings(sql, on: url)
    }

    static func strings(_ sql: String, on url: PostgresDatabaseURL) async throws -> [String] {
        let client = PostgresClient(
            configuration: .init(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable))
        return try await withThrowingTaskGroup(of: [String]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            do {
                let rows = try await client.query(PostgresQuery(unsafeSQL: sql))
                var out: [String] = []
                for try await row in rows {
                    out.append((try? row.decode(String.self)) ?? "")
                }
                return out
            } catch let error as PSQLError {
                // The server's own words (a test database's password is no secret), so a failure says what failed.
                throw StoreError.unavailable("\(sql.prefix(60)): \(error.serverInfo?[.message] ?? String(reflecting: error))")
            }
        }
    }
}
