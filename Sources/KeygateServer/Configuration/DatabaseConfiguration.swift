import KeygatePostgres

/// Which store a process opens (SPEC §11 `KEYGATE_DATABASE_URL`).
public enum DatabaseConfiguration: Sendable, Equatable {
    /// The embedded default: one SQLite file (WAL).
    case sqlite(path: String)
    /// PostgreSQL, shared by every replica.
    case postgres(PostgresDatabaseURL)
}
