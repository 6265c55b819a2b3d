/// One column's value as a backend stores it, for copying an install from one store to another
/// (`keygate migrate-data`): the two schemas have the same tables and columns, only their types differ
/// (SQLite's INTEGER flags are PostgreSQL's BOOLEAN), which the target converts from its own column types.
public enum StoredValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A table's rows in a fixed column order.
public struct StoredRows: Sendable {
    public var columns: [String]
    public var rows: [[StoredValue]]

    public init(columns: [String], rows: [[StoredValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// Every table of Keygate's schema, parents before children (foreign keys hold while copying in this order).
public enum StoredTables {
    public static let inCopyOrder = [
        "organizations", "api_keys", "byok_keys", "users", "memberships", "sessions", "login_failures", "credit_accounts",
        "ledger_entries", "reservations", "jobs", "job_calls", "instances", "usage_records", "purchases", "billing_accounts", "stripe_events",
        "disputes", "operator_tokens", "audit_records",
    ]
}
