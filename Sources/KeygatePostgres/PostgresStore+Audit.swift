import KeygateStore
import PostgresNIO

/// The operator's audit trail on PostgreSQL: inserts only.
extension PostgresStore {
    public func appendAudit(_ record: AuditRecord) async throws {
        try await read { connection in
            _ = try await connection.query(
                """
                INSERT INTO audit_records (id, at, actor_id, actor_name, action, target, detail, outcome, client_address)
                VALUES (\(record.id), \(record.at), \(record.actorID), \(record.actorName), \(record.action), \(record.target),
                  \(record.detail), \(record.outcome), \(record.clientAddress))
                """, logger: logger
            ).collect()
        }
    }

    public func auditRecords(limit: Int, target: String?) async throws -> [AuditRecord] {
        try await read { connection in
            let rows: PostgresRowSequence
            if let target {
                rows = try await connection.query(
                    """
                    SELECT id, at, actor_id, actor_name, action, target, detail, outcome, client_address FROM audit_records
                    WHERE target = \(target) ORDER BY at DESC, id COLLATE "C" DESC LIMIT \(limit)
                    """, logger: logger)
            } else {
                rows = try await connection.query(
                    """
                    SELECT id, at, actor_id, actor_name, action, target, detail, outcome, client_address FROM audit_records
                    ORDER BY at DESC, id COLLATE "C" DESC LIMIT \(limit)
                    """, logger: logger)
            }
            return try await rows.collect().map { row in
                let (id, at, actorID, actorName, action, target, detail, outcome, address) = try row.decode(
                    (String, Int64, String, String, String, String?, String?, String, String).self)
                return AuditRecord(
                    id: id, at: at, actorID: actorID, actorName: actorName, action: action, target: target, detail: detail, outcome: outcome,
                    clientAddress: address)
            }
        }
    }
}
