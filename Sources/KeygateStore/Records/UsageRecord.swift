import KeygateCore

/// One request, as the usage table keeps it (SPEC §8).
public struct UsageRecord: Sendable, Hashable {
    public var requestID: String
    public var organizationID: String
    public var apiKeyID: String
    /// The model as `provider/model`.
    public var model: String
    public var provider: String
    public var byok: Bool
    /// The organisation's key that paid, for BYOK requests.
    public var byokKeyID: String?
    /// Who paid; nil when the request was rejected before routing.
    public var billing: BillingPath?
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cachedInputTokens: Int64
    public var reasoningTokens: Int64
    /// Token counts are Keygate's estimate, not the provider's report.
    public var tokensEstimated: Bool
    /// At-cost price of the tokens at list price.
    public var costUSD: PicoUSD
    public var creditsCharged: MicroCredits
    public var feeCredits: MicroCredits
    public var latencyMs: Int64
    /// Time to the first streamed byte; nil for non-streaming requests.
    public var timeToFirstTokenMs: Int64?
    public var stream: Bool
    /// The HTTP status the client received.
    public var status: Int
    /// The error code when the request failed (`upstream_timeout`, `client_disconnected`, …).
    public var errorCode: String?
    public var createdAt: Int64
    /// The job the call was billed to (`x-keygate-job`), if any.
    public var jobID: String?

    public init(
        requestID: String, organizationID: String, apiKeyID: String, model: String, provider: String,
        byok: Bool, billing: BillingPath?, usage: TokenUsage, costUSD: PicoUSD,
        creditsCharged: MicroCredits = .zero, feeCredits: MicroCredits = .zero,
        latencyMs: Int64, timeToFirstTokenMs: Int64?, stream: Bool, status: Int, errorCode: String?, createdAt: Int64,
        byokKeyID: String? = nil, jobID: String? = nil
    ) {
        self.requestID = requestID
        self.organizationID = organizationID
        self.apiKeyID = apiKeyID
        self.model = model
        self.provider = provider
        self.byok = byok
        self.byokKeyID = byokKeyID
        self.billing = billing
        self.inputTokens = usage.inputTokens
        self.outputTokens = usage.outputTokens
        self.cachedInputTokens = usage.cachedInputTokens
        self.reasoningTokens = usage.reasoningTokens
        self.tokensEstimated = usage.estimated
        self.costUSD = costUSD
        self.creditsCharged = creditsCharged
        self.feeCredits = feeCredits
        self.latencyMs = latencyMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.stream = stream
        self.status = status
        self.errorCode = errorCode
        self.createdAt = createdAt
        self.jobID = jobID
    }
}
