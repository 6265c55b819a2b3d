import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// Jobs on PostgreSQL (the arithmetic is `JobMoney`'s, shared with SQLite). Every method is one transaction
/// (READ COMMITTED). Locks, always in this order, which extends the ledger's (reservation(s) → account(s)):
///
///     job call(s) (by request id) → job(s) (by id) → account(s) (by organisation id)
///
/// - a call's hold is ONE conditional statement on the job row: an `UPDATE jobs … WHERE status = 'open' AND
///   remaining >= amount` whose split comes from a `FOR UPDATE` subquery on the same row (as `reserve` does on
///   the account row), inserting the `job_calls` row in the same statement; no account is touched. Thirty calls
///   of one job at once queue on that row, and each sees the remaining the previous one left;
/// - a settlement or a release locks the call, then its job, then (only when entries are written) the account;
/// - opening locks only the account (the job row is new); closing locks the job, then the account;
/// - the sweeper locks all the calls it returns, then their jobs, then the accounts, each set in id order, and
///   the expiry locks the expired jobs in id order, then their accounts; so no two writers ever wait on each
///   other in a cycle, with each other or with plain reservations (which never lock a job).
/// A job call and a plain reservation are never locked by the same transaction.
extension PostgresStore {
    static let jobColumns = """
        j.id, j.organization_id, j.tier, j.status, j.amount_micros, j.remaining_trial_micros, j.remaining_regular_micros,
        j.charged_trial_micros, j.charged_regular_micros, j.refunded_micros, j.refunds_late_calls, j.metadata, j.expires_at,
        j.created_at, j.closed_at,
        coalesce((SELECT sum(c.trial_micros + c.regular_micros) FROM job_calls c WHERE c.job_id = j.id AND c.state = 'open'), 0)::bigint
        """

    /// A job row with its money figures and whether a failure refunds late calls.
    struct JobRow: Sendable {
        var job: Job
        var figures: JobMoney.Figures
        var refundsLateCalls: Bool
    }

    static func jobRow(_ row: PostgresRow) throws -> JobRow {
        let r = row.makeRandomAccess()
        let figures = JobMoney.Figures(
            remainingTrial: try r[5].decode(Int64.self), remainingRegular: try r[6].decode(Int64.self),
            chargedTrial: try r[7].decode(Int64.self), chargedRegular: try r[8].decode(Int64.self), refunded: try r[9].decode(Int64.self))
        let job = Job(
            id: try r[0].decode(String.self), organizationID: try r[1].decode(String.self), tier: try r[2].decode(String?.self),
            status: JobStatus(rawValue: try r[3].decode(String.self)) ?? .open, amount: MicroCredits(try r[4].decode(Int64.self)),
            remaining: MicroCredits(figures.remainingTrial + figures.remainingRegular), inFlight: MicroCredits(try r[15].decode(Int64.self)),
            charged: MicroCredits(figures.chargedTrial + figures.chargedRegular), refunded: MicroCredits(figures.refunded),
            metadata: JobMetadata.decode(try r[11].decode(String.self)), expiresAt: try r[12].decode(Int64.self),
            createdAt: try r[13].decode(Int64.self), closedAt: try r[14].decode(Int64?.self))
        return JobRow(job: job, figures: figures, refundsLateCalls: try r[10].decode(Bool.self))
    }

    /// A job, its row locked (`lock`) until the transaction ends; nil if missing or another organisation's.
    static func fetchJob(
        _ connection: PostgresConnection, id: String, organizationID: String?, lock: Bool, logger: Logger
    ) async throws -> JobRow? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: jobColumns) FROM jobs j
            WHERE j.id = \(id) AND (\(organizationID)::text IS NULL OR j.organization_id = \(organizationID)::text)
            \(unescaped: lock ? "FOR UPDATE OF j" : "")
            """, logger: logger
        ).collect()
        return try rows.first.map(jobRow)
    }

    static func saveFigures(_ connection: PostgresConnection, jobID: String, _ f: JobMoney.Figures, logger: Logger) async throws {
        _ = try await connection.query(
            """
            UPDATE jobs SET remaining_trial_micros = \(f.remainingTrial), remaining_regular_micros = \(f.remainingRegular),
              charged_trial_micros = \(f.chargedTrial), charged_regular_micros = \(f.chargedRegular), refunded_micros = \(f.refunded)
            WHERE id = \(jobID)
            """, logger: logger
        ).collect()
    }

    /// Writes `changes` as entries of the organisation's account, locking it (after the job: see the order).
    static func applyJobChanges(
        _ changes: [JobMoney.Change], organizationID: String, requestID: String, now: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !changes.isEmpty else { return }
        guard let before = try await lockAccount(connection, organizationID: organizationID, logger: logger) else {
            throw StoreError.invalid("organisation \(organizationID) has no credit account")
        }
        try await apply(
            changes.map {
                LedgerChange(kind: $0.kind, regular: $0.regular, trial: $0.trial, reserved: $0.reserved, requestID: requestID, reason: $0.reason)
            }, organizationID: organizationID, before: before, now: now, on: connection, logger: logger)
    }

    /// A job call's usage record in the caller's transaction, with its job id (the plain path's writer predates it).
    static func writeJobUsageRecord(_ record: UsageRecord, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(try insertUsage([record][...]), logger: logger).collect()
        if let keyID = record.byokKeyID {
            _ = try await connection.query(
                "UPDATE byok_keys SET last_used_at = GREATEST(coalesce(last_used_at, 0), \(record.createdAt)) WHERE id = \(keyID)",
                logger: logger
            ).collect()
        }
    }

    public func openJob(_ opening: JobOpening) async throws -> JobOpenOutcome {
        let x = opening.amount.value
        return try await transaction { connection in
            let now = WallClock.nowMs()
            let before = try await Self.ensureAndLockAccount(connection, organizationID: opening.organizationID, now: now, logger: logger)
            guard max(before.trial.value, 0) + before.regular.value >= x else { return .insufficient(before) }
            let fromTrial = min(max(before.trial.value, 0), x)
            try await Self.apply(
                [
                    LedgerChange(
                        kind: .reserve, regular: -(x - fromTrial), trial: -fromTrial, reserved: x, requestID: opening.id,
                        reason: "job opened" + (opening.tier.map { " (tier \($0))" } ?? ""))
                ], organizationID: opening.organizationID, before: before, now: now, on: connection, logger: logger)
            _ = try await connection.query(
                """
                INSERT INTO jobs (id, organization_id, tier, status, amount_micros, remaining_trial_micros, remaining_regular_micros,
                  metadata, expires_at, created_at)
                VALUES (\(opening.id), \(opening.organizationID), \(opening.tier), 'open', \(x), \(fromTrial), \(x - fromTrial),
                  \(JobMetadata.encode(opening.metadata)), \(opening.expiresAt), \(now))
                """, logger: logger
            ).collect()
            guard let row = try await Self.fetchJob(connection, id: opening.id, organizationID: nil, lock: false, logger: logger) else {
                throw StoreError.invalid("job \(opening.id) vanished")
            }
            return .opened(row.job)
        }
    }

    public func reserveJobCall(
        jobID: String, organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> JobCallOutcome {
        let x = amount.value
        return try await transaction { connection in
            let now = WallClock.nowMs()
            // The guard itself: the hold moves only if the job is open, unexpired and its remaining covers it. `s`
            // locks the row first, so the split and the update are computed from the same, latest version of it.
            let rows = try await connection.query(
                """
                WITH held AS (
                  UPDATE jobs j SET remaining_trial_micros = j.remaining_trial_micros - s.from_trial,
                    remaining_regular_micros = j.remaining_regular_micros - (\(x) - s.from_trial)
                  FROM (SELECT id, LEAST(remaining_trial_micros, \(x)) AS from_trial FROM jobs
                        WHERE id = \(jobID) AND organization_id = \(organizationID) FOR UPDATE) s
                  WHERE j.id = s.id AND j.status = 'open' AND j.expires_at > \(now)
                    AND j.remaining_trial_micros + j.remaining_regular_micros >= \(x)
                  RETURNING j.id, s.from_trial
                ), call AS (
                  INSERT INTO job_calls (request_id, job_id, organization_id, trial_micros, regular_micros, state, instance_id,
                    lease_expires_at, created_at)
                  SELECT \(requestID), id, \(organizationID), from_trial, \(x) - from_trial, 'open', \(instanceID), \(leaseExpiresAt), \(now)
                  FROM held
                )
                SELECT from_trial FROM held
                """, logger: logger
            ).collect()
            if let row = rows.first {
                let fromTrial = try row.decode(Int64.self)
                return .reserved(trial: MicroCredits(fromTrial), regular: MicroCredits(x - fromTrial))
            }
            guard let job = try await Self.fetchJob(connection, id: jobID, organizationID: organizationID, lock: false, logger: logger)?.job
            else { return .notFound }
            return job.status == .open && job.expiresAt > now ? .exhausted(job) : .closed(job)
        }
    }

    public func settleJobCall(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        try await transaction { connection in
            if let record { try await Self.writeJobUsageRecord(record, on: connection, logger: logger) }
            let calls = try await connection.query(
                "SELECT job_id, trial_micros, regular_micros, state FROM job_calls WHERE request_id = \(requestID) FOR UPDATE", logger: logger
            ).collect()
            guard let call = calls.first else { return Settlement(charged: .zero, fee: .zero, applied: false) }
            let (jobID, callTrial, callRegular, state) = try call.decode((String, Int64, Int64, String).self)
            guard let row = try await Self.fetchJob(connection, id: jobID, organizationID: nil, lock: true, logger: logger) else {
                throw StoreError.invalid("job \(jobID) vanished")
            }
            let org = row.job.organizationID
            // The account's trial part decides an overage's split; it is locked before it is read.
            guard let balance = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                throw StoreError.invalid("organisation \(org) has no credit account")
            }
            let isOpen = state == "open"
            let plan = JobMoney.settleCall(
                jobID: jobID, callTrial: isOpen ? callTrial : 0, callRegular: isOpen ? callRegular : 0, job: row.figures,
                jobOpen: row.job.status == .open, refundsLateCalls: row.refundsLateCalls, availableTrial: balance.trial.value,
                cost: cost.value, fee: fee.value)
            try await Self.applyJobChanges(
                plan.changes, organizationID: org, requestID: requestID, now: WallClock.nowMs(), on: connection, logger: logger)
            try await Self.saveFigures(connection, jobID: jobID, plan.figures, logger: logger)
            _ = try await connection.query("DELETE FROM job_calls WHERE request_id = \(requestID)", logger: logger).collect()
            return Settlement(charged: cost, fee: fee, applied: true)
        }
    }

    public func releaseJobCall(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool {
        try await transaction { connection in
            if let record { try await Self.writeJobUsageRecord(record, on: connection, logger: logger) }
            let calls = try await connection.query(
                "SELECT job_id, trial_micros, regular_micros FROM job_calls WHERE request_id = \(requestID) AND state = 'open' FOR UPDATE",
                logger: logger
            ).collect()
            guard let call = calls.first else { return false }
            let (jobID, trial, regular) = try call.decode((String, Int64, Int64).self)
            guard let row = try await Self.fetchJob(connection, id: jobID, organizationID: nil, lock: true, logger: logger) else {
                throw StoreError.invalid("job \(jobID) vanished")
            }
            if row.job.status == .open {
                var figures = row.figures
                figures.remainingTrial += trial
                figures.remainingRegular += regular
                try await Self.saveFigures(connection, jobID: jobID, figures, logger: logger)
            } else if trial + regular > 0 {
                try await Self.applyJobChanges(
                    [
                        JobMoney.Change(
                            kind: .release, regular: regular, trial: trial, reserved: -(trial + regular), reason: "job \(jobID) closed: \(reason)")
                    ], organizationID: row.job.organizationID, requestID: requestID, now: WallClock.nowMs(), on: connection, logger: logger)
            }
            _ = try await connection.query("DELETE FROM job_calls WHERE request_id = \(requestID)", logger: logger).collect()
            return true
        }
    }

    public func chargeJobFee(jobID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        try await transaction { connection in
            if let record { try await Self.writeJobUsageRecord(record, on: connection, logger: logger) }
            guard fee.value > 0, let row = try await Self.fetchJob(connection, id: jobID, organizationID: nil, lock: true, logger: logger)
            else { return }
            let org = row.job.organizationID
            guard let balance = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                throw StoreError.invalid("organisation \(org) has no credit account")
            }
            let plan = JobMoney.settleCall(
                jobID: jobID, callTrial: 0, callRegular: 0, job: row.figures, jobOpen: row.job.status == .open,
                refundsLateCalls: row.refundsLateCalls, availableTrial: balance.trial.value, cost: 0, fee: fee.value)
            try await Self.applyJobChanges(
                plan.changes, organizationID: org, requestID: requestID, now: WallClock.nowMs(), on: connection, logger: logger)
            try await Self.saveFigures(connection, jobID: jobID, plan.figures, logger: logger)
        }
    }

    public func completeJob(jobID: String, organizationID: String, now: Int64) async throws -> JobCloseOutcome {
        try await transaction { connection in
            try await Self.closeJob(
                connection, jobID: jobID, organizationID: organizationID, status: .completed, refund: false, now: now, logger: logger)
        }
    }

    public func failJob(jobID: String, organizationID: String, refund: Bool, now: Int64) async throws -> JobCloseOutcome {
        try await transaction { connection in
            try await Self.closeJob(
                connection, jobID: jobID, organizationID: organizationID, status: .failed, refund: refund, now: now, logger: logger)
        }
    }

    static func closeJob(
        _ connection: PostgresConnection, jobID: String, organizationID: String?, status: JobStatus, refund: Bool, now: Int64, logger: Logger
    ) async throws -> JobCloseOutcome {
        guard let row = try await fetchJob(connection, id: jobID, organizationID: organizationID, lock: true, logger: logger) else {
            return .notFound
        }
        guard row.job.status == .open else { return .alreadyClosed(row.job) }
        let plan = JobMoney.close(jobID: jobID, job: row.figures, refund: refund)
        try await applyJobChanges(plan.changes, organizationID: row.job.organizationID, requestID: jobID, now: now, on: connection, logger: logger)
        try await saveFigures(connection, jobID: jobID, plan.figures, logger: logger)
        _ = try await connection.query(
            "UPDATE jobs SET status = \(status.rawValue), refunds_late_calls = \(refund), closed_at = \(now) WHERE id = \(jobID)", logger: logger
        ).collect()
        guard let after = try await fetchJob(connection, id: jobID, organizationID: nil, lock: false, logger: logger) else {
            throw StoreError.invalid("job \(jobID) vanished")
        }
        return .closed(after.job)
    }

    public func job(id: String, organizationID: String) async throws -> Job? {
        try await read { connection in
            try await Self.fetchJob(connection, id: id, organizationID: organizationID, lock: false, logger: logger)?.job
        }
    }

    public func jobs(organizationID: String, status: JobStatus?, limit: Int) async throws -> [Job] {
        try await read { connection in
            try await connection.query(
                """
                SELECT \(unescaped: Self.jobColumns) FROM jobs j
                WHERE j.organization_id = \(organizationID) AND (\(status?.rawValue)::text IS NULL OR j.status = \(status?.rawValue)::text)
                ORDER BY j.created_at DESC, j.id COLLATE "C" DESC LIMIT \(limit)
                """, logger: logger
            ).collect().map { try Self.jobRow($0).job }
        }
    }

    public func jobCalls(jobID: String, organizationID: String) async throws -> [UsageRecord] {
        try await usageRecords(
            """
            SELECT \(unescaped: Self.usageColumns) FROM usage_records WHERE job_id = \(jobID) AND organization_id = \(organizationID)
            ORDER BY created_at, request_id COLLATE "C"
            """)
    }

    public func tierJobCosts(organizationID: String) async throws -> [TierJobCost] {
        try await read { connection in
            try await connection.query(
                """
                SELECT j.tier, j.charged_trial_micros + j.charged_regular_micros,
                  coalesce((SELECT sum(u.cost_usd_picos) FROM usage_records u
                            WHERE u.job_id = j.id AND u.organization_id = j.organization_id), 0)::bigint
                FROM jobs j WHERE j.organization_id = \(organizationID) AND j.status = 'completed' AND j.tier IS NOT NULL
                ORDER BY j.tier COLLATE "C", j.id COLLATE "C"
                """, logger: logger
            ).collect().map { row in
                let (tier, charged, cost) = try row.decode((String, Int64, Int64).self)
                return TierJobCost(tier: tier, charged: MicroCredits(charged), listPrice: PicoUSD(cost))
            }
        }
    }

    public func releaseAbandonedJobCalls(now: Int64, deadBefore: Int64) async throws -> Int {
        try await transaction { connection in
            // One replica sweeps at a time (`PostgresStore+LedgerMaintenance`).
            guard try await Self.takeSweeperLock(connection, logger: logger) else { return 0 }
            let calls = try await connection.query(
                """
                SELECT request_id, job_id, trial_micros, regular_micros FROM job_calls c
                WHERE c.state = 'open' AND (c.lease_expires_at < \(now)
                  OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = c.instance_id AND i.heartbeat_at >= \(deadBefore)))
                ORDER BY request_id
                FOR UPDATE OF c
                """, logger: logger
            ).collect().map { try $0.decode((String, String, Int64, Int64).self) }
            guard !calls.isEmpty else { return 0 }
            // Their jobs, locked in id order; then, for closed jobs only, the accounts in id order.
            let jobIDs = Array(Set(calls.map(\.1))).sorted()
            var jobs: [String: JobRow] = [:]
            for row in try await connection.query(
                "SELECT \(unescaped: Self.jobColumns) FROM jobs j WHERE j.id = ANY(\(jobIDs)) ORDER BY j.id FOR UPDATE OF j", logger: logger
            ).collect() {
                let job = try Self.jobRow(row)
                jobs[job.job.id] = job
            }
            var releases: [String: [LedgerChange]] = [:]
            for (requestID, jobID, trial, regular) in calls {
                guard var job = jobs[jobID] else { throw StoreError.invalid("job \(jobID) vanished") }
                if job.job.status == .open {
                    job.figures.remainingTrial += trial
                    job.figures.remainingRegular += regular
                    jobs[jobID] = job
                } else if trial + regular > 0 {
                    releases[job.job.organizationID, default: []].append(
                        LedgerChange(
                            kind: .release, regular: regular, trial: trial, reserved: -(trial + regular), requestID: requestID,
                            reason: "job \(jobID) closed: abandoned: its request's process stopped or the lease ended"))
                }
            }
            for jobID in jobIDs where jobs[jobID]?.job.status == .open {
                try await Self.saveFigures(connection, jobID: jobID, jobs[jobID]!.figures, logger: logger)
            }
            for org in releases.keys.sorted() {
                guard let before = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                    throw StoreError.invalid("organisation \(org) has no credit account")
                }
                try await Self.apply(releases[org] ?? [], organizationID: org, before: before, now: now, on: connection, logger: logger)
            }
            // Kept as `released`: its request may still be running, and a late settlement still charges.
            let requestIDs = calls.map(\.0)
            _ = try await connection.query(
                "UPDATE job_calls SET state = 'released' WHERE request_id = ANY(\(requestIDs))", logger: logger
            ).collect()
            return calls.count
        }
    }

    public func expireJobs(now: Int64) async throws -> Int {
        try await transaction { connection in
            // One replica sweeps at a time (`PostgresStore+LedgerMaintenance`).
            guard try await Self.takeSweeperLock(connection, logger: logger) else { return 0 }
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.jobColumns) FROM jobs j WHERE j.status = 'open' AND j.expires_at <= \(now)
                ORDER BY j.id FOR UPDATE OF j
                """, logger: logger
            ).collect().map(Self.jobRow)
            var changes: [String: [LedgerChange]] = [:]
            for row in rows {
                let plan = JobMoney.close(jobID: row.job.id, job: row.figures, refund: false)
                changes[row.job.organizationID, default: []].append(
                    contentsOf: plan.changes.map {
                        LedgerChange(
                            kind: $0.kind, regular: $0.regular, trial: $0.trial, reserved: $0.reserved, requestID: row.job.id,
                            reason: $0.reason + " (expired)")
                    })
                try await Self.saveFigures(connection, jobID: row.job.id, plan.figures, logger: logger)
                _ = try await connection.query(
                    "UPDATE jobs SET status = 'completed', closed_at = \(now) WHERE id = \(row.job.id)", logger: logger
                ).collect()
            }
            for org in changes.keys.sorted() {
                guard let before = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                    throw StoreError.invalid("organisation \(org) has no credit account")
                }
                try await Self.apply(changes[org] ?? [], organizationID: org, before: before, now: now, on: connection, logger: logger)
            }
            return rows.count
        }
    }
}
