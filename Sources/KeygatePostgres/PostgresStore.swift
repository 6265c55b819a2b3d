import CoreMetrics
import Foundation
import KeygateCore
import KeygateStore
import Logging
import PostgresNIO
import ServiceLifecycle

/// The production store: PostgreSQL through a PostgresNIO connection pool, so that several `keygate serve`
/// replicas share one database and nothing else. Each area is implemented in its own file
/// (`PostgresStore+Organizations.swift`, …), twin of `KeygateSQLite`'s, and both run one conformance suite.
///
/// The pool runs from `init` until `close()` (its `run()` in a task of its own): a CLI command and a server
/// alike open the store, use it and close it. Errors leave here as `StoreError`, never with the password.
public final class PostgresStore: Store {
    let client: PostgresClient
    let logger: Logger
    public let url: PostgresDatabaseURL
    private let running: Task<Void, Never>
    /// Whether `reserve` and `settle` are batched per moment (`PostgresStore+LedgerBatches`); off only to measure
    /// what batching gains.
    let batchesLedgerWrites: Bool
    let ledgerWrites: PostgresBatcher<LedgerWrite, LedgerAnswer>

    /// `metrics`: where the ledger's batcher reports each batch (the serving gateway's registry; nil: `MetricsSystem`).
    public init(
        url: PostgresDatabaseURL, batchesLedgerWrites: Bool = true, logger: Logger = Logger(label: "keygate.postgres"),
        metrics: (any MetricsFactory)? = nil
    ) {
        self.ledgerWrites = PostgresBatcher(key: \.requestID, metrics: LedgerCommitMetrics(backend: "postgres", factory: metrics))
        self.url = url
        self.logger = logger
        self.batchesLedgerWrites = batchesLedgerWrites
        var configuration: PostgresClient.Configuration
        switch url.tls {
        case .disable:
            configuration = .init(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        case .prefer:
            configuration = .init(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
                tls: .prefer(.makeClientConfiguration()))
        case .require:
            configuration = .init(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
                tls: .require(.makeClientConfiguration()))
        }
        configuration.options.maximumConnections = url.poolSize
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", "keygate")]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        running = Task { [client] in await client.run() }
    }

    /// Applies the pending migrations. A server that cannot be reached fails it within `startupTimeout`
    /// (the pool itself would wait for a connection as long as it is asked to).
    public func migrate() async throws {
        try await withDeadline(Self.startupTimeout, doing: "prepare the database") { try await PostgresMigrations.apply(on: self) }
    }

    static let startupTimeout: Duration = .seconds(20)

    /// Runs `body`, or fails with `.unavailable` after `limit`.
    func withDeadline<Result: Sendable>(
        _ limit: Duration, doing what: String, _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw StoreError.unavailable("cannot \(what): PostgreSQL at \(url) did not answer within \(limit.components.seconds) s")
            }
            return result
        }
    }

    public func checkReachable() async throws {
        try await withDeadline(.seconds(5), doing: "check the database") {
            _ = try await self.read { connection in try await connection.query("SELECT 1", logger: self.logger).collect() }
        }
    }

    /// Nothing: the pool runs on its own from `init`, and replicas need no per-process upkeep of the database.
    public var backgroundServices: [any Service] { [] }

    public func close() async throws {
        running.cancel()
        await running.value
    }

    // MARK: Running statements

    /// One statement or several on one leased connection, outside a transaction (reads).
    func read<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, url: url)
        }
    }

    /// One transaction (`BEGIN` … `COMMIT`, rolled back when `body` throws). A `StoreError` thrown by `body`
    /// leaves as it is; a database error becomes `StoreError` (`.duplicate` for a unique violation).
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError as? StoreError { throw closure }
            throw Self.storeError(error.closureError ?? error.commitError ?? error.beginError ?? error, url: url)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, url: url)
        }
    }

    /// A database error in words for the operator: the SQLSTATE's meaning, never the connection's password
    /// (PSQLError's own description hides everything on purpose; the server's message names no secret).
    static func storeError(_ error: any Error, url: PostgresDatabaseURL) -> StoreError {
        guard let psql = error as? PSQLError else { return .unavailable("PostgreSQL at \(url): \(error)") }
        if let state = psql.serverInfo?[.sqlState] {
            let message = psql.serverInfo?[.message] ?? ""
            if state == PostgresError.Code.uniqueViolation.raw {
                return .duplicate(psql.serverInfo?[.constraintName] ?? "row")
            }
            return .unavailable("PostgreSQL at \(url) refused a statement (SQLSTATE \(state)): \(message)")
        }
        return .unavailable("PostgreSQL at \(url) cannot be reached (\(psql.code.description))")
    }

    /// Whether an error is a unique violation (a duplicate insert another writer won).
    static func isUniqueViolation(_ error: any Error) -> Bool {
        let psql = (error as? PSQLError) ?? ((error as? PostgresTransactionError)?.closureError as? PSQLError)
        return psql?.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw
    }
}
