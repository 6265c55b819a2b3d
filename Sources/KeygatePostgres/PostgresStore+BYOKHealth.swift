import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// Scheduled BYOK key checks on PostgreSQL. The claim takes a transaction-level advisory try-lock first, like
/// the sweeper (`takeSweeperLock`): one replica claims at a time, and one that finds the lock taken claims
/// nothing this round (the keys stay due for the next). The claimed keys' `health_checked_at` moves to now in
/// the same transaction, so no replica claims them again before the next interval.
extension PostgresStore {
    /// The lock's key: "kghealth" in ASCII, used by nothing else.
    static let byokHealthLockKey: Int64 = 0x6B67_6865_616C_7468

    public func claimBYOKHealthChecks(now: Int64, dueBefore: Int64, limit: Int) async throws -> [BYOKKeyRecord] {
        try await transaction { connection in
            let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.byokHealthLockKey))", logger: logger).collect()
            guard try locked.first?.decode(Bool.self) == true else { return [] }
            let rows = try await connection.query(
                """
                UPDATE byok_keys SET health_checked_at = \(now)
                WHERE id IN (
                  SELECT id FROM byok_keys
                  WHERE status = 'active' AND COALESCE(health_checked_at, last_validated_at, created_at) < \(dueBefore)
                  ORDER BY COALESCE(health_checked_at, last_validated_at, created_at), id COLLATE "C" LIMIT \(Int64(limit))
                  FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.byokColumns)
                """, logger: logger
            ).collect()
            return try rows.map { try Self.byokKey(from: $0) }.sorted { $0.id < $1.id }
        }
    }

    public func recordBYOKHealthCheck(id: String, organizationID: String, result: String, invalid: Bool, at: Int64) async throws -> Bool {
        try await read { connection in
            if invalid {
                let changed = try await connection.query(
                    """
                    UPDATE byok_keys SET status = 'invalid', last_validated_at = \(at), last_validation_result = \(result)
                    WHERE id = \(id) AND organization_id = \(organizationID) AND status = 'active' RETURNING id
                    """, logger: logger
                ).collect()
                if changed.count == 1 { return true }
            }
            _ = try await connection.query(
                """
                UPDATE byok_keys SET last_validated_at = \(at), last_validation_result = \(result)
                WHERE id = \(id) AND organization_id = \(organizationID) AND status = 'active'
                """, logger: logger
            ).collect()
            return false
        }
    }
}
