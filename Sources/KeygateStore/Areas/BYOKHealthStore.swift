/// The scheduled re-validation of organisations' own provider keys (`BYOKHealthChecker`): which keys are due,
/// and what a check found. Off the request path.
public protocol BYOKHealthStore: Sendable {
    /// Claims up to `limit` active keys whose last scheduled check (else their last validation, else their
    /// creation) is older than `dueBefore`, oldest first, and marks them checked at `now`, in one transaction:
    /// a key claimed here is not due again for a whole interval, in this process or any other. One claimer at
    /// a time across processes (on PostgreSQL a transaction-level advisory try-lock: a process that finds it
    /// taken claims nothing this round; on SQLite the single writer).
    func claimBYOKHealthChecks(now: Int64, dueBefore: Int64, limit: Int) async throws -> [BYOKKeyRecord]
    /// Records a check's outcome on the key: its time and `result`; with `invalid`, also marks it `invalid`,
    /// but only if it is still `active` (a key deactivated or replaced meanwhile is left as the org set it).
    /// Returns whether the key's status changed to `invalid`.
    func recordBYOKHealthCheck(id: String, organizationID: String, result: String, invalid: Bool, at: Int64) async throws -> Bool
}
