import KeygateCore

/// Jobs (SPEC §5): one credit hold for many calls. Every method is one transaction; every balance change is
/// a ledger entry, so `verifyLedger` holds: the organisation's `reserved` is its open reservations, plus its
/// open jobs' `remaining`, plus its job calls' holds.
///
/// Money moves like this: opening is a `reserve` entry (available → reserved, trial first); a call's hold is
/// carved from the job's remaining by one conditional update of the job row (no balance change, no entry);
/// its settlement writes `settle`/`fee` entries (reserved → spent; beyond its hold, from the job's remaining,
/// then from available), and what it did not use goes back to the job; closing returns the remaining hold
/// (`release`) and, for a refunded failure, what the calls cost (`refund`). A call settling after its job
/// closed still settles into it (charged, refunded too if the job was refunded) and its unused hold goes to
/// available.
public protocol JobStore: Sendable {
    /// Holds the amount if available covers it (one conditional update of the account, like `reserve`).
    func openJob(_ opening: JobOpening) async throws -> JobOpenOutcome
    /// Holds a call's estimate out of the job's remaining: one conditional update of the job row, so concurrent
    /// calls never take it below zero. Refuses another organisation's job, a closed or expired one.
    func reserveJobCall(
        jobID: String, organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> JobCallOutcome
    /// Settles a job call (`settle` semantics, with its usage record in the same transaction). Idempotent.
    func settleJobCall(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement
    /// Returns a job call's whole hold to its job (to available if the job closed). Idempotent.
    @discardableResult
    func releaseJobCall(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool
    /// A BYOK call's fee inside a job: from the job's remaining, beyond it from available.
    func chargeJobFee(jobID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws
    /// Completes an open job: its calls' cost stays charged, the rest of the hold returns to available.
    func completeJob(jobID: String, organizationID: String, now: Int64) async throws -> JobCloseOutcome
    /// Fails an open job: the rest of the hold returns and, if `refund`, everything its calls cost too.
    func failJob(jobID: String, organizationID: String, refund: Bool, now: Int64) async throws -> JobCloseOutcome
    func job(id: String, organizationID: String) async throws -> Job?
    /// The organisation's jobs, newest first, optionally of one status.
    func jobs(organizationID: String, status: JobStatus?, limit: Int) async throws -> [Job]
    /// The usage records of a job's calls, oldest first (its receipt).
    func jobCalls(jobID: String, organizationID: String) async throws -> [UsageRecord]
    /// Every completed job of the organisation that was opened by a tier, with its calls' list price.
    func tierJobCosts(organizationID: String) async throws -> [TierJobCost]
}
