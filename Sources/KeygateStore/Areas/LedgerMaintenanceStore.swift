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
}
