import KeygateCore

/// One organisation's usage on one UTC day, for the operator's cross-organisation report.
public struct OrganizationDailyUsage: Sendable, Hashable {
    /// Midnight UTC of the day, in ms since the epoch.
    public var dayStart: Int64
    public var organizationID: String
    public var requests: Int64
    public var byokRequests: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    /// Credits charged for tokens, and fees, on that day.
    public var creditsCharged: MicroCredits
    public var fees: MicroCredits
    /// What the tokens cost at list price.
    public var costUSD: PicoUSD

    public init(
        dayStart: Int64, organizationID: String, requests: Int64, byokRequests: Int64, inputTokens: Int64, outputTokens: Int64,
        creditsCharged: MicroCredits, fees: MicroCredits, costUSD: PicoUSD
    ) {
        self.dayStart = dayStart
        self.organizationID = organizationID
        self.requests = requests
        self.byokRequests = byokRequests
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.creditsCharged = creditsCharged
        self.fees = fees
        self.costUSD = costUSD
    }
}
