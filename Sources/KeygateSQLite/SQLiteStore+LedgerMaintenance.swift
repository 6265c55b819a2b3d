import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// The ledger's upkeep on SQLite: the check, the heartbeat and the sweeper's two writes (through the write
/// batcher, like every ledger change).
extension SQLiteStore {
    public func verifyLedger(organizationID: String?) async throws -> [LedgerDiscrepancy] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.organization_id, a.regular_micros, a.trial_micros, a.reserved_micros,
                      coalesce((SELECT sum(regular_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0),
                      coalesce((SELECT sum(trial_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0),
                      coalesce((SELECT sum(reserved_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0),
                      coalesce((SELECT sum(trial_micros + regular_micros) FROM reservations r WHERE r.organization_id = a.organization_id AND r.state = 'open'), 0)
                      + coalesce((SELECT sum(remaining_trial_micros + remaining_regular_micros) FROM jobs j
                                  WHERE j.organization_id = a.organization_id), 0)
                      + coalesce((SELECT sum(trial_micros + regular_micros) FROM job_calls c
                                  WHERE c.organization_id = a.organization_id AND c.state = 'open'), 0)
                    FROM credit_accounts a WHERE ? IS NULL OR a.organization_id = ?
                    """, arguments: [organizationID, organizationID])
            var problems: [LedgerDiscrepancy] = []
            for row in rows {
                let org: String = row[0]
                for (field, balance, sum) in [
                    ("regular", row[1] as Int64, row[4] as Int64), ("trial", row[2], row[5]),
                    ("reserved", row[3], row[6]), ("reserved vs open reservations and jobs", row[3], row[7]),
                ] where balance != sum {
                    problems.append(LedgerDiscrepancy(organizationID: org, field: field, balance: balance, sumOfEntries: sum))
                }
            }
            return problems
        }
    }

    public func heartbeat(instanceID: String, at now: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO instances (id, heartbeat_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                arguments: [instanceID, now])
        }
    }

    public func releaseAbandonedReservations(now: Int64, deadBefore: Int64) async throws -> Int {
        try await writes.write { db in
            let abandoned = try String.fetchAll(
                db,
                sql: """
                    SELECT request_id FROM reservations r
                    WHERE r.state = 'open' AND (r.lease_expires_at < ?
                      OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = r.instance_id AND i.heartbeat_at >= ?))
                    """, arguments: [now, deadBefore])
            for requestID in abandoned {
                _ = try Self.releaseOpen(
                    db, requestID: requestID, reason: "abandoned: its request's process stopped or the lease ended",
                    keepForLateSettlement: true, now: now)
            }
            return abandoned.count
        }
    }

    public func expireTrialCredits(now: Int64) async throws -> Int {
        try await writes.write { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT organization_id, trial_micros FROM credit_accounts WHERE trial_expires_at <= ? AND trial_micros > 0",
                arguments: [now])
            for row in rows {
                let trial: Int64 = row[1]
                try Self.apply(db, organizationID: row[0], kind: .expiry, trial: -trial, requestID: nil, reason: "trial credits expired", now: now)
            }
            return rows.count
        }
    }
}
