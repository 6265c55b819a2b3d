import KeygateCore

/// A job (SPEC §5): one credit hold for a piece of work that makes many calls. Its amount left available for
/// the organisation's reserved balance when it opened; its calls borrow their estimates from it and settle
/// their costs into it; closing it returns what is left.
public struct Job: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    /// The tier it was opened by, if any.
    public var tier: String?
    public var status: JobStatus
    /// The amount held when it opened.
    public var amount: MicroCredits
    /// What is still held for new calls (zero once closed).
    public var remaining: MicroCredits
    /// What its calls' estimates hold right now (calls in flight).
    public var inFlight: MicroCredits
    /// What its calls cost (tokens and fees), including any overage beyond the hold.
    public var charged: MicroCredits
    /// What a failed job gave back (`refund` entries).
    public var refunded: MicroCredits
    public var metadata: [String: String]
    public var expiresAt: Int64
    public var createdAt: Int64
    public var closedAt: Int64?

    public init(
        id: String, organizationID: String, tier: String?, status: JobStatus, amount: MicroCredits, remaining: MicroCredits,
        inFlight: MicroCredits, charged: MicroCredits, refunded: MicroCredits, metadata: [String: String], expiresAt: Int64,
        createdAt: Int64, closedAt: Int64?
    ) {
        self.id = id
        self.organizationID = organizationID
        self.tier = tier
        self.status = status
        self.amount = amount
        self.remaining = remaining
        self.inFlight = inFlight
        self.charged = charged
        self.refunded = refunded
        self.metadata = metadata
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.closedAt = closedAt
    }
}
