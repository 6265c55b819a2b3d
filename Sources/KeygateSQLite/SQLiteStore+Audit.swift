import GRDB
import KeygateStore

/// The operator's audit trail on SQLite: inserts only.
extension SQLiteStore {
    public func appendAudit(_ record: AuditRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO audit_records (id, at, actor_id, actor_name, action, target, detail, outcome, client_address)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, record.at, record.actorID, record.actorName, record.action, record.target, record.detail, record.outcome,
                    record.clientAddress,
                ])
        }
    }

    public func auditRecords(limit: Int, target: String?) async throws -> [AuditRecord] {
        try await pool.read { db in
            let filter = target == nil ? "" : "WHERE target = ?"
            var arguments: StatementArguments = []
            if let target { arguments += [target] }
            arguments += [limit]
            return try Row.fetchAll(
                db, sql: "SELECT * FROM audit_records \(filter) ORDER BY at DESC, id DESC LIMIT ?", arguments: arguments
            ).map { row in
                AuditRecord(
                    id: row["id"], at: row["at"], actorID: row["actor_id"], actorName: row["actor_name"], action: row["action"],
                    target: row["target"], detail: row["detail"], outcome: row["outcome"], clientAddress: row["client_address"])
            }
        }
    }
}
