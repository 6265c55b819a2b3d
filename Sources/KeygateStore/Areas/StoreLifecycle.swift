import ServiceLifecycle

/// Opening concerns of a store: its schema, its health, its background work and its end.
public protocol StoreLifecycle: Sendable {
    /// Brings the schema up to date (versioned migrations). Safe to call on every start.
    func migrate() async throws
    /// Throws unless the database answers a trivial query: backs `/readyz`.
    func checkReachable() async throws
    func close() async throws
    /// Work the store needs done while a server runs (e.g. SQLite's WAL checkpoints), for `serve` to run in its
    /// service group. Run them before `close()`, and end them (graceful shutdown or cancellation) before it.
    var backgroundServices: [any Service] { get }
}
