import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// The ledger's upkeep on PostgreSQL: the check (one read), the heartbeat (an upsert) and the sweeper's two
/// writes, each one transaction. One replica sweeps at a time: each sweep first takes a transaction-level
/// advisory lock with `pg_try_advisory_xact_lock`, and a replica that finds it taken skips that sweep (the one
/// holding it does the work; the next interval tries again), so replicas do not queue on the same rows. Were two
/// to sweep at once anyway, it would still be correct: the sweeper locks the reservations it
/// releases (`FOR UPDATE`, by request id) before their accounts (by organisation id), the same order as a
/// settlement, so a reservation is released once, a settlement racing it waits and then charges from available,
/// and no two writers deadlock. The trial expiry locks the expired accounts in id order likewise.
extension PostgresStore {
    public func verifyLedger(organizationID: String?) async throws -> [LedgerDiscrepancy] {
        try await read { connection in
            // sum(bigint) is numeric in PostgreSQL: cast back (a ledger's sums fit, its balances are bigint too).
            let rows = try await connection.query(
                """
                SELECT a.organization_id, a.regular_micros, a.trial_micros, a.reserved_micros,
                  coalesce((SELECT sum(regular_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0)::bigint,
                  coalesce((SELECT sum(trial_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0)::bigint,
                  coalesce((SELECT sum(reserved_delta_micros) FROM ledger_entries e WHERE e.organization_id = a.organization_id), 0)::bigint,
                  coalesce((SELECT sum(trial_micros + regular_micros) FROM reservations r
                            WHERE r.organization_id = a.organization_id AND r.state = 'open'), 0)::bigint
                  + coalesce((SELECT sum(remaining_trial_micros + remaining_regular_micros) FROM jobs j
                              WHERE j.organization_id = a.organization_id), 0)::bigint
                  + coalesce((SELECT sum(trial_micros + regular_micros) FROM job_calls c
                              WHERE c.organization_id = a.organization_id AND c.state = 'open'), 0)::bigint
                FROM credit_accounts a WHERE \(organizationID)::text IS NULL OR a.organization_id = \(organizationID)::text
                ORDER BY a.organization_id
                """, logger: logger
            ).collect()
            var problems: [LedgerDiscrepancy] = []
            for row in rows {
                let (org, regular, trial, reserved, regularSum, trialSum, reservedSum, openSum) = try row.decode(
                    (String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                for (field, balance, sum) in [
                    ("regular", regular, regularSum), ("trial", trial, trialSum), ("reserved", reserved, reservedSum),
                    ("reserved vs open reservations and jobs", reserved, openSum),
                ] where balance != sum {
                    problems.append(LedgerDiscrepancy(organizationID: org, field: field, balance: balance, sumOfEntries: sum))
                }
            }
            return problems
        }
    }

    public func heartbeat(instanceID: String, at now: Int64) async throws {
        try await transaction { connection in
            _ = try await connection.query(
                """
                INSERT INTO instances (id, heartbeat_at) VALUES (\(instanceID), \(now))
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at
                """, logger: logger
            ).collect()
        }
    }

    /// The sweeper's lock key: "kgsweep" in ASCII, apart from the migrations' key.
    static let sweeperLockKey: Int64 = 0x6B_6773_7765_6570

    /// Whether this transaction is the one sweep under way (the lock is released by its commit or rollback).
    static func takeSweeperLock(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_xact_lock(\(sweeperLockKey))", logger: logger).collect()
        return try rows.first?.decode(Bool.self) ?? false
    }

    public func releaseAbandonedReservations(now: Int64, deadBefore: Int64) async throws -> Int {
        try await transaction { connection in
            guard try await Self.takeSweeperLock(connection, logger: logger) else { return 0 }
            // Locked here, re-checked by PostgreSQL if a settlement changed one meanwhile (a settled one is gone).
            let rows = try await connection.query(
                """
                SELECT request_id, organization_id, trial_micros, regular_micros FROM reservations r
                WHERE r.state = 'open' AND (r.lease_expires_at < \(now)
                  OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = r.instance_id AND i.heartbeat_at >= \(deadBefore)))
                ORDER BY request_id
                FOR UPDATE OF r
                """, logger: logger
            ).collect()
            var byOrganization: [String: [LedgerChange]] = [:]
            var requestIDs: [String] = []
            for row in rows {
                let (requestID, org, trial, regular) = try row.decode((String, String, Int64, Int64).self)
                requestIDs.append(requestID)
                byOrganization[org, default: []].append(
                    LedgerChange(
                        kind: .release, regular: regular, trial: trial, reserved: -(trial + regular), requestID: requestID,
                        reason: "abandoned: its request's process stopped or the lease ended"))
            }
            for org in byOrganization.keys.sorted() {
                guard let before = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                    throw StoreError.invalid("organisation \(org) has no credit account")
                }
                try await Self.apply(byOrganization[org] ?? [], organizationID: org, before: before, now: now, on: connection, logger: logger)
            }
            // Kept as `released`, not deleted: its request may still be running, and a late settlement still charges.
            if !requestIDs.isEmpty {
                _ = try await connection.query(
                    "UPDATE reservations SET state = 'released' WHERE request_id = ANY(\(requestIDs))", logger: logger
                ).collect()
            }
            return requestIDs.count
        }
    }

    public func expireTrialCredits(now: Int64) async throws -> Int {
        try await transaction { connection in
            guard try await Self.takeSweeperLock(connection, logger: logger) else { return 0 }
            let rows = try await connection.query(
                """
                SELECT organization_id, \(unescaped: Self.balanceColumns) FROM credit_accounts
                WHERE trial_expires_at <= \(now) AND trial_micros > 0
                ORDER BY organization_id
                FOR UPDATE
                """, logger: logger
            ).collect()
            for row in rows {
                let (org, regular, trial, expiry, reserved) = try row.decode((String, Int64, Int64, Int64?, Int64).self)
                let before = CreditBalance(
                    regular: MicroCredits(regular), trial: MicroCredits(trial), trialExpiresAt: expiry, reserved: MicroCredits(reserved))
                try await Self.apply(
                    [LedgerChange(kind: .expiry, trial: -trial, reason: "trial credits expired")], organizationID: org, before: before,
                    now: now, on: connection, logger: logger)
            }
            return rows.count
        }
    }
}
