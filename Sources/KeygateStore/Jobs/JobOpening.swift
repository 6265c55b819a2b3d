import KeygateCore

/// What opening a job asks the store for.
public struct JobOpening: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var amount: MicroCredits
    public var tier: String?
    public var metadata: [String: String]
    public var expiresAt: Int64

    public init(id: String, organizationID: String, amount: MicroCredits, tier: String?, metadata: [String: String], expiresAt: Int64) {
        self.id = id
        self.organizationID = organizationID
        self.amount = amount
        self.tier = tier
        self.metadata = metadata
        self.expiresAt = expiresAt
    }
}
