import KeygateCore

/// Everything Keygate keeps. Callers see only this protocol, so the SQLite implementation can be joined by a
/// PostgreSQL one without touching them.
///
/// Invariants every implementation keeps:
/// - no secret is stored in plaintext (API keys arrive here already hashed);
/// - each method is one transaction: it happens entirely or not at all;
/// - times are Unix epoch milliseconds.
public protocol Store: Sendable {
    /// Brings the schema up to date (versioned migrations). Safe to call on every start.
    func migrate() async throws
    /// Throws unless the database answers a trivial query: backs `/readyz`.
    func checkReachable() async throws
    func close() async throws

    // Organisations
    func createOrganization(slug: String, name: String) async throws -> Organization
    func organization(slug: String) async throws -> Organization?
    func organizations() async throws -> [Organization]

    // Keygate API keys
    func createAPIKey(_ key: NewAPIKey) async throws -> APIKeyRecord
    /// The key with this lookup id, with its organisation, revoked or not.
    func apiKey(lookupID: String) async throws -> AuthenticatedKey?
    func apiKeys(organizationID: String) async throws -> [APIKeyRecord]
    /// Returns false if no such active key exists in that organisation.
    func revokeAPIKey(id: String, organizationID: String) async throws -> Bool

    // BYOK keys (sealed; the store never sees a plaintext secret)
    /// Stores a new active key; an active key for the same provider becomes inactive (rotation), atomically.
    func addBYOKKey(_ key: BYOKKeyRecord) async throws
    func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord]
    func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord?
    /// The key an organisation's requests to a provider use: the active one, or the one the provider last
    /// refused (`invalid`), which keeps failing clearly instead of silently falling back to platform billing.
    /// On the request path.
    func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord?
    /// Activating a key deactivates the other active key of its provider. False if no such key.
    func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool
    func deleteBYOKKey(id: String, organizationID: String) async throws -> Bool
    /// Every key of every organisation: for master key rotation and the start-up check.
    func allBYOKKeys() async throws -> [BYOKKeyRecord]
    /// Replaces a key's ciphertext if it is still the one given (a rotation never overwrites a newer write).
    func replaceBYOKCiphertext(id: String, from old: [UInt8], to new: [UInt8], masterKeyID: String) async throws -> Bool
    func organizationSettings(organizationID: String) async throws -> OrganizationSettings
    func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws

    // Credits (SPEC §5). Every method is one transaction; every balance change writes its ledger entry.
    func balance(organizationID: String) async throws -> CreditBalance
    /// Adds credits (`grant`, `purchase`, `adjustment`, `trialGrant`; negative amounts only for `adjustment`).
    /// A trial grant sets the trial expiry.
    @discardableResult
    func addCredits(organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64?) async throws -> CreditBalance
    /// Holds `amount` if available (trial first) covers it: one conditional update, so concurrent requests,
    /// also from several processes, can never drive available below zero.
    func reserve(organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64) async throws -> ReservationOutcome
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
    /// Checks that every balance equals the sum of its entries; empty when all is well.
    func verifyLedger(organizationID: String?) async throws -> [LedgerDiscrepancy]
    /// Marks this process alive (reservations of processes silent longer than the sweeper's limit are released).
    func heartbeat(instanceID: String, at: Int64) async throws
    /// Releases reservations whose lease ended or whose process stopped beating before `deadBefore`; returns how many.
    func releaseAbandonedReservations(now: Int64, deadBefore: Int64) async throws -> Int
    /// Expires unspent trial credits past their date; returns how many organisations lost some.
    func expireTrialCredits(now: Int64) async throws -> Int

    // Usage
    /// Appends usage records, all in one transaction (the recorder batches them: group commit).
    func recordUsage(_ records: [UsageRecord]) async throws
    func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord]
    /// Requests paid with the organisation's own keys since a time (the billing page's BYOK request count).
    func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64
}

extension Store {
    public func recordUsage(_ record: UsageRecord) async throws {
        try await recordUsage([record])
    }

    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits) async throws -> Settlement {
        try await settle(requestID: requestID, cost: cost, fee: fee, record: nil)
    }

    @discardableResult
    public func release(requestID: String, reason: String) async throws -> Bool {
        try await release(requestID: requestID, reason: reason, record: nil)
    }
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case duplicate(String)
    case notFound(String)
    case invalid(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .duplicate(let what): return "\(what) already exists"
        case .notFound(let what): return "\(what) not found"
        case .invalid(let why): return why
        case .unavailable(let why): return why
        }
    }
}
