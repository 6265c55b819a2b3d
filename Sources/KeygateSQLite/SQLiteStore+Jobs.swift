import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Jobs on SQLite (the arithmetic is `JobMoney`'s, shared with PostgreSQL). Every method is one `BEGIN
/// IMMEDIATE` transaction through the write batcher, like every ledger change, so a check and the change it
/// guards never interleave with another writer; a call's hold is in addition one conditional `UPDATE` of the
/// job row (`… WHERE remaining >= amount`), so even a logic slip cannot take a job below zero.
extension SQLiteStore {
    static let jobColumns = """
        j.id, j.organization_id, j.tier, j.status, j.amount_micros, j.remaining_trial_micros, j.remaining_regular_micros,
        j.charged_trial_micros, j.charged_regular_micros, j.refunded_micros, j.refunds_late_calls, j.metadata, j.expires_at,
        j.created_at, j.closed_at,
        coalesce((SELECT sum(c.trial_micros + c.regular_micros) FROM job_calls c WHERE c.job_id = j.id AND c.state = 'open'), 0)
        """

    static func job(row: Row) -> Job {
        let figures = jobFigures(row: row)
        return Job(
            id: row[0], organizationID: row[1], tier: row[2], status: JobStatus(rawValue: row[3]) ?? .open, amount: MicroCredits(row[4]),
            remaining: MicroCredits(figures.remainingTrial + figures.remainingRegular), inFlight: MicroCredits(row[15]),
            charged: MicroCredits(figures.chargedTrial + figures.chargedRegular), refunded: MicroCredits(figures.refunded),
            metadata: JobMetadata.decode(row[11]), expiresAt: row[12], createdAt: row[13], closedAt: row[14])
    }

    static func jobFigures(row: Row) -> JobMoney.Figures {
        JobMoney.Figures(remainingTrial: row[5], remainingRegular: row[6], chargedTrial: row[7], chargedRegular: row[8], refunded: row[9])
    }

    static func jobRow(_ db: Database, id: String, organizationID: String? = nil) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(jobColumns) FROM jobs j WHERE j.id = ? AND (?2 IS NULL OR j.organization_id = ?2)"),
            arguments: [id, organizationID])
    }

    static func saveFigures(_ db: Database, jobID: String, _ figures: JobMoney.Figures) throws {
        try db.cachedStatement(
            sql: """
                UPDATE jobs SET remaining_trial_micros = ?, remaining_regular_micros = ?, charged_trial_micros = ?,
                  charged_regular_micros = ?, refunded_micros = ? WHERE id = ?
                """
        ).execute(arguments: [
            figures.remainingTrial, figures.remainingRegular, figures.chargedTrial, figures.chargedRegular, figures.refunded, jobID,
        ])
    }

    static func applyJobChanges(_ db: Database, _ changes: [JobMoney.Change], organizationID: String, requestID: String, now: Int64) throws {
        for change in changes {
            try apply(
                db, organizationID: organizationID, kind: change.kind, regular: change.regular, trial: change.trial,
                reserved: change.reserved, requestID: requestID, reason: change.reason, now: now)
        }
    }

    public func openJob(_ opening: JobOpening) async throws -> JobOpenOutcome {
        let x = opening.amount.value
        return try await writes.write { db in
            let now = WallClock.nowMs()
            try Self.ensureAccount(db, organizationID: opening.organizationID, now: now)
            let before = try Self.balance(db, organizationID: opening.organizationID)
            guard max(before.trial.value, 0) + before.regular.value >= x else { return .insufficient(before) }
            let fromTrial = min(max(before.trial.value, 0), x)
            try Self.apply(
                db, organizationID: opening.organizationID, kind: .reserve, regular: -(x - fromTrial), trial: -fromTrial, reserved: x,
                requestID: opening.id, reason: "job opened" + (opening.tier.map { " (tier \($0))" } ?? ""), now: now)
            try db.cachedStatement(
                sql: """
                    INSERT INTO jobs (id, organization_id, tier, status, amount_micros, remaining_trial_micros, remaining_regular_micros,
                      metadata, expires_at, created_at)
                    VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                opening.id, opening.organizationID, opening.tier, x, fromTrial, x - fromTrial, JobMetadata.encode(opening.metadata),
                opening.expiresAt, now,
            ])
            guard let row = try Self.jobRow(db, id: opening.id) else { throw StoreError.invalid("job \(opening.id) vanished") }
            return .opened(Self.job(row: row))
        }
    }

    public func reserveJobCall(
        jobID: String, organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> JobCallOutcome {
        let x = amount.value
        return try await writes.write { db in
            let now = WallClock.nowMs()
            guard let row = try Self.jobRow(db, id: jobID, organizationID: organizationID) else { return .notFound }
            let job = Self.job(row: row)
            guard job.status == .open, job.expiresAt > now else { return .closed(job) }
            guard let (trial, regular) = JobMoney.carve(x, from: Self.jobFigures(row: row)) else { return .exhausted(job) }
            // The guard itself: the hold moves only if the job is still open and its remaining still covers it.
            let update = try db.cachedStatement(
                sql: """
                    UPDATE jobs SET remaining_trial_micros = remaining_trial_micros - ?, remaining_regular_micros = remaining_regular_micros - ?
                    WHERE id = ? AND status = 'open' AND remaining_trial_micros >= ? AND remaining_regular_micros >= ?
                    """)
            try update.execute(arguments: [trial, regular, jobID, trial, regular])
            guard db.changesCount == 1 else { return .exhausted(job) }
            try db.cachedStatement(
                sql: """
                    INSERT INTO job_calls (request_id, job_id, organization_id, trial_micros, regular_micros, state, instance_id,
                      lease_expires_at, created_at)
                    VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?)
                    """
            ).execute(arguments: [requestID, jobID, organizationID, trial, regular, instanceID, leaseExpiresAt, now])
            return .reserved(trial: MicroCredits(trial), regular: MicroCredits(regular))
        }
    }

    public func settleJobCall(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            // Open: charge it. Released (the sweeper gave its hold back): the work was done, so it is charged from
            // the job's remaining or available. Gone: already settled, a retry.
            guard
                let call = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT job_id, trial_micros, regular_micros, state FROM job_calls WHERE request_id = ?"),
                    arguments: [requestID])
            else { return Settlement(charged: .zero, fee: .zero, applied: false) }
            let jobID: String = call[0]
            let isOpen = (call[3] as String) == "open"
            guard let row = try Self.jobRow(db, id: jobID) else { throw StoreError.invalid("job \(jobID) vanished") }
            let job = Self.job(row: row)
            let now = WallClock.nowMs()
            let plan = JobMoney.settleCall(
                jobID: jobID, callTrial: isOpen ? call[1] : 0, callRegular: isOpen ? call[2] : 0, job: Self.jobFigures(row: row),
                jobOpen: job.status == .open, refundsLateCalls: (row[10] as Bool),
                availableTrial: try Self.balance(db, organizationID: job.organizationID).trial.value, cost: cost.value, fee: fee.value)
            try Self.applyJobChanges(db, plan.changes, organizationID: job.organizationID, requestID: requestID, now: now)
            try Self.saveFigures(db, jobID: jobID, plan.figures)
            try db.cachedStatement(sql: "DELETE FROM job_calls WHERE request_id = ?").execute(arguments: [requestID])
            return Settlement(charged: cost, fee: fee, applied: true)
        }
    }

    public func releaseJobCall(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool {
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            return try Self.releaseOpenJobCall(db, requestID: requestID, reason: reason, keepForLateSettlement: false, now: WallClock.nowMs())
        }
    }

    /// Gives an open job call's hold back: to its job while open (no entry: it never left reserved), else to
    /// available (`release`). `keepForLateSettlement`: the sweeper's, whose request may still settle.
    static func releaseOpenJobCall(_ db: Database, requestID: String, reason: String, keepForLateSettlement: Bool, now: Int64) throws -> Bool {
        guard
            let call = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT job_id, trial_micros, regular_micros FROM job_calls WHERE request_id = ? AND state = 'open'"),
                arguments: [requestID])
        else { return false }
        let jobID: String = call[0]
        let trial: Int64 = call[1]
        let regular: Int64 = call[2]
        guard let row = try jobRow(db, id: jobID) else { throw StoreError.invalid("job \(jobID) vanished") }
        let job = job(row: row)
        if job.status == .open {
            var figures = jobFigures(row: row)
            figures.remainingTrial += trial
            figures.remainingRegular += regular
            try saveFigures(db, jobID: jobID, figures)
        } else if trial + regular > 0 {
            try apply(
                db, organizationID: job.organizationID, kind: .release, regular: regular, trial: trial, reserved: -(trial + regular),
                requestID: requestID, reason: "job \(jobID) closed: \(reason)", now: now)
        }
        let sql =
            keepForLateSettlement ? "UPDATE job_calls SET state = 'released' WHERE request_id = ?" : "DELETE FROM job_calls WHERE request_id = ?"
        try db.cachedStatement(sql: sql).execute(arguments: [requestID])
        return true
    }

    public func chargeJobFee(jobID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            guard fee.value > 0, let row = try Self.jobRow(db, id: jobID) else { return }
            let job = Self.job(row: row)
            let plan = JobMoney.settleCall(
                jobID: jobID, callTrial: 0, callRegular: 0, job: Self.jobFigures(row: row), jobOpen: job.status == .open,
                refundsLateCalls: (row[10] as Bool), availableTrial: try Self.balance(db, organizationID: job.organizationID).trial.value,
                cost: 0, fee: fee.value)
            try Self.applyJobChanges(db, plan.changes, organizationID: job.organizationID, requestID: requestID, now: WallClock.nowMs())
            try Self.saveFigures(db, jobID: jobID, plan.figures)
        }
    }

    public func completeJob(jobID: String, organizationID: String, now: Int64) async throws -> JobCloseOutcome {
        try await writes.write { db in
            try Self.closeJob(db, jobID: jobID, organizationID: organizationID, status: .completed, refund: false, now: now)
        }
    }

    public func failJob(jobID: String, organizationID: String, refund: Bool, now: Int64) async throws -> JobCloseOutcome {
        try await writes.write { db in try Self.closeJob(db, jobID: jobID, organizationID: organizationID, status: .failed, refund: refund, now: now)
        }
    }

    static func closeJob(
        _ db: Database, jobID: String, organizationID: String?, status: JobStatus, refund: Bool, now: Int64
    ) throws -> JobCloseOutcome {
        guard let row = try jobRow(db, id: jobID, organizationID: organizationID) else { return .notFound }
        let job = job(row: row)
        guard job.status == .open else { return .alreadyClosed(job) }
        let plan = JobMoney.close(jobID: jobID, job: jobFigures(row: row), refund: refund)
        try applyJobChanges(db, plan.changes, organizationID: job.organizationID, requestID: jobID, now: now)
        try saveFigures(db, jobID: jobID, plan.figures)
        try db.cachedStatement(sql: "UPDATE jobs SET status = ?, refunds_late_calls = ?, closed_at = ? WHERE id = ?")
            .execute(arguments: [status.rawValue, refund, now, jobID])
        guard let after = try jobRow(db, id: jobID) else { throw StoreError.invalid("job \(jobID) vanished") }
        return .closed(Self.job(row: after))
    }

    public func job(id: String, organizationID: String) async throws -> Job? {
        try await pool.read { db in try Self.jobRow(db, id: id, organizationID: organizationID).map(Self.job(row:)) }
    }

    public func jobs(organizationID: String, status: JobStatus?, limit: Int) async throws -> [Job] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.jobColumns) FROM jobs j WHERE j.organization_id = ? AND (?2 IS NULL OR j.status = ?2)
                    ORDER BY j.created_at DESC, j.id DESC LIMIT ?
                    """, arguments: [organizationID, status?.rawValue, limit]
            ).map(Self.job(row:))
        }
    }

    public func jobCalls(jobID: String, organizationID: String) async throws -> [UsageRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM usage_records WHERE job_id = ? AND organization_id = ? ORDER BY created_at, rowid",
                arguments: [jobID, organizationID]
            ).map(Self.usageRecord(row:))
        }
    }

    public func tierJobCosts(organizationID: String) async throws -> [TierJobCost] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT j.tier, j.charged_trial_micros + j.charged_regular_micros,
                      coalesce((SELECT sum(u.cost_usd_picos) FROM usage_records u
                            WHERE u.job_id = j.id AND u.organization_id = j.organization_id), 0)
                    FROM jobs j WHERE j.organization_id = ? AND j.status = 'completed' AND j.tier IS NOT NULL
                    ORDER BY j.tier, j.id
                    """, arguments: [organizationID]
            ).map { TierJobCost(tier: $0[0], charged: MicroCredits($0[1]), listPrice: PicoUSD($0[2])) }
        }
    }

    public func releaseAbandonedJobCalls(now: Int64, deadBefore: Int64) async throws -> Int {
        try await writes.write { db in
            let abandoned = try String.fetchAll(
                db,
                sql: """
                    SELECT request_id FROM job_calls c
                    WHERE c.state = 'open' AND (c.lease_expires_at < ?
                      OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = c.instance_id AND i.heartbeat_at >= ?))
                    """, arguments: [now, deadBefore])
            for requestID in abandoned {
                _ = try Self.releaseOpenJobCall(
                    db, requestID: requestID, reason: "abandoned: its request's process stopped or the lease ended",
                    keepForLateSettlement: true, now: now)
            }
            return abandoned.count
        }
    }

    public func expireJobs(now: Int64) async throws -> Int {
        try await writes.write { db in
            let expired = try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE status = 'open' AND expires_at <= ?", arguments: [now])
            for jobID in expired {
                _ = try Self.closeJob(db, jobID: jobID, organizationID: nil, status: .completed, refund: false, now: now)
            }
            return expired.count
        }
    }
}
