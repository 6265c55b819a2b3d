import GRDB
import KeygateCore
import KeygateStore

/// Scheduled BYOK key checks on SQLite. The claim is one write transaction (SQLite's single writer): the keys it
/// returns have their `health_checked_at` moved to now, so no other process sharing the file claims them again
/// before the next interval.
extension SQLiteStore {
    public func claimBYOKHealthChecks(now: Int64, dueBefore: Int64, limit: Int) async throws -> [BYOKKeyRecord] {
        try await pool.write { db in
            let keys = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM byok_keys
                    WHERE status = 'active' AND COALESCE(health_checked_at, last_validated_at, created_at) < ?
                    ORDER BY COALESCE(health_checked_at, last_validated_at, created_at), id LIMIT ?
                    """,
                arguments: [dueBefore, limit]
            ).map { Self.byokKey(from: $0) }
            for key in keys {
                try db.execute(sql: "UPDATE byok_keys SET health_checked_at = ? WHERE id = ?", arguments: [now, key.id])
            }
            return keys
        }
    }

    public func recordBYOKHealthCheck(id: String, organizationID: String, result: String, invalid: Bool, at: Int64) async throws -> Bool {
        try await pool.write { db in
            if invalid {
                try db.execute(
                    sql: """
                        UPDATE byok_keys SET status = 'invalid', last_validated_at = ?, last_validation_result = ?
                        WHERE id = ? AND organization_id = ? AND status = 'active'
                        """,
                    arguments: [at, result, id, organizationID])
                if db.changesCount == 1 { return true }
            }
            try db.execute(
                sql: """
                    UPDATE byok_keys SET last_validated_at = ?, last_validation_result = ?
                    WHERE id = ? AND organization_id = ? AND status = 'active'
                    """,
                arguments: [at, result, id, organizationID])
            return false
        }
    }
}
