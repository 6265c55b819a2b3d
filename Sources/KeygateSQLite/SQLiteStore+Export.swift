import GRDB
import KeygateStore

/// Reading an install out whole, for `keygate migrate-data`: every row of a table, in one read transaction
/// per table (the copy is meant for a stopped install; `migrate-data` says so).
extension SQLiteStore {
    public func exportRows(table: String) async throws -> StoredRows {
        guard StoredTables.inCopyOrder.contains(table) else { throw StoreError.invalid("unknown table '\(table)'") }
        return try await pool.read { db in
            let columns = try db.columns(in: table).map(\.name)
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            var rows: [[StoredValue]] = []
            // Ledger entries in id order (their ids are copied, and the target's identity continues after them).
            let order = table == "ledger_entries" ? " ORDER BY id" : ""
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(list) FROM \(table)\(order)")
            while let row = try cursor.next() {
                rows.append(
                    row.databaseValues.map { value in
                        switch value.storage {
                        case .int64(let value): .integer(value)
                        case .double(let value): .real(value)
                        case .string(let value): .text(value)
                        case .blob(let data): .blob(Array(data))
                        case .null: .null
                        }
                    })
            }
            return StoredRows(columns: columns, rows: rows)
        }
    }
}
