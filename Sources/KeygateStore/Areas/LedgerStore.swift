import KeygateCore

/// Credits (SPEC §5) as a request spends them. Every method is one transaction; every balance change writes
/// its ledger entry, so a balance is always the sum of its entries.
public protocol LedgerStore: Sendable {
    func balance(organizationID: String) async throws -> CreditBalance
    /// Adds credits (`grant`, `purchase`, `adjustment`, `trialGrant`; negative amounts only for `adjustment`).
    /// A trial grant sets the trial expiry.
    @discardableResult
    func addCredits(
        organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64?
    ) async throws -> CreditBalance
    /// Holds `amount` if available (trial first) covers it: one conditional update, so concurrent requests,
    /// also from several processes, can never drive available below zero.
    func reserve(
        organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> ReservationOutcome
    /// Charges `cost` and `fee` against the request's reservation (trial part first), charges any excess
    /// beyond it from available (the overage policy), and releases the rest. Idempotent per request id; a
    /// reservation the sweeper already returned is charged from available (the work was done). `record`, the
    /// request's usage record, is written in the same transaction: a charge never exists without its record.
    func settle(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement
    /// Returns a whole reservation (and writes `record` with it). Idempotent; false if there was nothing open.
    @discardableResult
    func release(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool
    /// Charges a fee outside any reservation (BYOK requests), with the request's usage record.
    func chargeFee(organizationID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws
    func ledgerEntries(organizationID: String, limit: Int) async throws -> [LedgerEntry]
}

extension LedgerStore {
    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits) async throws -> Settlement {
        try await settle(requestID: requestID, cost: cost, fee: fee, record: nil)
    }

    @discardableResult
    public func release(requestID: String, reason: String) async throws -> Bool {
        try await release(requestID: requestID, reason: reason, record: nil)
    }
}
