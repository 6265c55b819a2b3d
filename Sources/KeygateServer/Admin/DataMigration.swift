import KeygatePostgres
import KeygateSQLite
import KeygateStore

/// `keygate migrate-data --from sqlite:///… --to postgres://…`: moves an embedded install to PostgreSQL with
/// nothing lost. Every table is copied as it is (ids, hashes, ciphertexts, ledger entries with their ids) in
/// one transaction on the target, which must be empty; then the copy is checked: the same row count in every
/// table, the same balance for every organisation, and `ledger verify` clean on both sides. Run it with the
/// servers stopped: rows written to the source during the copy would be left behind.
public struct DataMigration: Sendable {
    /// What was copied, table by table, in copy order.
    public struct Report: Sendable {
        public var rows: [(table: String, count: Int)]
        public var organizations: Int
    }

    public let source: SQLiteStore
    public let target: PostgresStore

    public init(source: SQLiteStore, target: PostgresStore) {
        self.source = source
        self.target = target
    }

    public func run() async throws -> Report {
        let before = try await target.rowCounts()
        if let (table, count) = before.first(where: { $0.value > 0 }) {
            throw StoreError.invalid(
                "the target database is not empty (\(table) has \(count) rows): migrate-data only fills an empty database, so that nothing is mixed or overwritten"
            )
        }
        let sourceProblems = try await source.verifyLedger(organizationID: nil)
        guard sourceProblems.isEmpty else {
            throw StoreError.invalid(
                "the source ledger does not verify (\(sourceProblems.count) organisations): run keygate ledger verify and fix it first")
        }
        var tables: [(name: String, rows: StoredRows)] = []
        for table in StoredTables.inCopyOrder {
            tables.append((table, try await source.exportRows(table: table)))
        }
        try await target.importTables(tables)

        let copied = try await target.rowCounts()
        for (name, rows) in tables where Int64(rows.rows.count) != copied[name] {
            throw StoreError.unavailable("after the copy, \(name) has \(copied[name] ?? 0) rows on PostgreSQL and \(rows.rows.count) on SQLite")
        }
        let targetProblems = try await target.verifyLedger(organizationID: nil)
        guard targetProblems.isEmpty else {
            throw StoreError.unavailable("after the copy, the PostgreSQL ledger does not verify for \(targetProblems.count) organisations")
        }
        let organizations = try await source.organizations()
        for organization in organizations {
            let (was, now) = (try await source.balance(organizationID: organization.id), try await target.balance(organizationID: organization.id))
            guard was == now else {
                throw StoreError.unavailable("after the copy, organisation \(organization.slug)'s balance differs between SQLite and PostgreSQL")
            }
        }
        return Report(rows: tables.map { ($0.name, $0.rows.rows.count) }, organizations: organizations.count)
    }
}
