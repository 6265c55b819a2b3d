/// The ledger's upkeep, outside any request: the sweeper's work and the operator's check.
public protocol LedgerMaintenanceStore: Sendable {
    /// Checks that every balance equals the sum of its entries; empty when all is well.
    func verifyLedger(organizationID: String?) async throws -> [LedgerDiscrepancy]
    /// Marks this process alive (reservations of processes silent longer than the sweeper's limit are released).
    func heartbeat(instanceID: String, at: Int64) async throws
    /// Releases reservations whose lease ended or whose process stopped beating before `deadBefore`; returns how many.
    func releaseAbandonedReservations(now: Int64, deadBefore: Int64) async throws -> Int
    /// Expires unspent trial credits past their date; returns how many organisations lost some.
    func expireTrialCredits(now: Int64) async throws -> Int
    /// Returns to their jobs (to available if the job closed) the holds of job calls whose lease ended or whose
    /// process stopped beating before `deadBefore`; kept for a late settlement. Returns how many.
    func releaseAbandonedJobCalls(now: Int64, deadBefore: Int64) async throws -> Int
    /// Completes the open jobs past their `expires_at`; returns how many.
    func expireJobs(now: Int64) async throws -> Int
}
