import KeygateCore
import KeygateStore
import PostgresNIO

/// Writing an install in whole, for `keygate migrate-data`: rows of another store, converted to this
/// schema's column types (read from the catalog: an INTEGER 0/1 becomes a BOOLEAN, a BLOB a BYTEA), in one
/// transaction for all tables, into an empty database only.
extension PostgresStore {
    /// How many rows each Keygate table holds (all zero for an empty install).
    public func rowCounts() async throws -> [String: Int64] {
        try await read { connection in
            var counts: [String: Int64] = [:]
            for table in StoredTables.inCopyOrder {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: self.logger)
                for try await count in rows.decode(Int64.self) { counts[table] = count }
            }
            return counts
        }
    }

    /// Inserts every table's rows (in `StoredTables.inCopyOrder`) in one transaction; refuses a database that
    /// already holds any row. The ledger's identity then continues after the highest copied id.
    public func importTables(_ tables: [(name: String, rows: StoredRows)]) async throws {
        try await transaction { connection in
            for table in StoredTables.inCopyOrder {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(table))"), logger: self.logger)
                for try await exists in rows.decode(Bool.self) where exists {
                    throw StoreError.invalid("the target database is not empty (table \(table) has rows): migrate-data only fills an empty one")
                }
            }
            for (name, data) in tables {
                guard StoredTables.inCopyOrder.contains(name) else { throw StoreError.invalid("unknown table '\(name)'") }
                let types = try await Self.columnTypes(of: name, connection: connection, logger: self.logger)
                for column in data.columns where types[column] == nil {
                    throw StoreError.invalid("table \(name) has no column \(column) on PostgreSQL")
                }
                let perBatch = max(1, 30_000 / max(data.columns.count, 1))
                var start = 0
                while start < data.rows.count {
                    let batch = data.rows[start..<min(start + perBatch, data.rows.count)]
                    var bindings = PostgresBindings(capacity: batch.count * data.columns.count)
                    var tuples: [String] = []
                    for row in batch {
                        var placeholders: [String] = []
                        for (index, value) in row.enumerated() {
                            try Self.bind(value, as: types[data.columns[index]] ?? "text", column: "\(name).\(data.columns[index])", into: &bindings)
                            placeholders.append("$\(bindings.count)")
                        }
                        tuples.append("(" + placeholders.joined(separator: ", ") + ")")
                    }
                    let columns = data.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                    let sql = "INSERT INTO \(name) (\(columns)) VALUES " + tuples.joined(separator: ", ")
                    _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: self.logger).collect()
                    start += perBatch
                }
            }
            _ = try await connection.query(
                "SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), coalesce((SELECT max(id) FROM ledger_entries), 0) + 1, false)",
                logger: self.logger
            ).collect()
        }
    }

    static func columnTypes(of table: String, connection: PostgresConnection, logger: Logger) async throws -> [String: String] {
        var types: [String: String] = [:]
        let rows = try await connection.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)",
            logger: logger)
        for try await (column, type) in rows.decode((String, String).self) { types[column] = type }
        return types
    }

    static func bind(_ value: StoredValue, as type: String, column: String, into bindings: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, _): bindings.appendNull()
        case (.integer(let number), "boolean"): bindings.append(number != 0)
        case (.integer(let number), "integer"):
            guard let small = Int32(exactly: number) else { throw StoreError.invalid("\(column) holds \(number), beyond an INTEGER") }
            bindings.append(small)
        case (.integer(let number), "bigint"): bindings.append(number)
        case (.text(let text), "text"): bindings.append(text)
        case (.blob(let bytes), "bytea"): bindings.append(ByteBuffer(bytes: bytes))
        case (.real(let number), "double precision"): bindings.append(number)
        default: throw StoreError.invalid("\(column): a \(Self.kind(of: value)) cannot go into a \(type) column")
        }
    }
}

extension PostgresStore {
    /// The kind of a value, for an error (never the value: it may be a key's hash or ciphertext).
    static func kind(of value: StoredValue) -> String {
        switch value {
        case .null: "null"
        case .integer: "integer"
        case .real: "real number"
        case .text: "text"
        case .blob: "blob"
        }
    }
}
