import KeygateCore

/// What an organisation's usage records add up to since a time: the billing page's chart, its spend this
/// month and its tables by model and by provider. Every figure is summed in the database from the same rows,
/// so the chart, the tables and the totals always agree.
public struct UsageSummary: Sendable, Hashable {
    /// One entry per UTC day that has usage, oldest first (days without usage are absent).
    public var days: [UsageDay]
    /// By model (with its provider), most credits first, then most requests.
    public var byModel: [UsageTotal]
    /// By provider (`model` is empty), most credits first, then most requests.
    public var byProvider: [UsageTotal]

    public init(days: [UsageDay] = [], byModel: [UsageTotal] = [], byProvider: [UsageTotal] = []) {
        self.days = days
        self.byModel = byModel
        self.byProvider = byProvider
    }
}

/// A UTC day's usage.
public struct UsageDay: Sendable, Hashable {
    /// Midnight UTC of the day, in ms since the epoch.
    public var dayStart: Int64
    public var requests: Int64
    public var byokRequests: Int64
    /// Credits charged plus fees.
    public var credits: MicroCredits

    public init(dayStart: Int64, requests: Int64, byokRequests: Int64, credits: MicroCredits) {
        self.dayStart = dayStart
        self.requests = requests
        self.byokRequests = byokRequests
        self.credits = credits
    }

    public static let lengthMs: Int64 = 86_400_000
}

/// Usage of one model (or one provider, `model` empty) over the summary's window.
public struct UsageTotal: Sendable, Hashable {
    public var model: String
    public var provider: String
    public var requests: Int64
    public var byokRequests: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    /// Credits charged plus fees.
    public var credits: MicroCredits
    /// What the calls cost at the provider's prices, whoever paid.
    public var costUSD: PicoUSD

    public init(
        model: String, provider: String, requests: Int64, byokRequests: Int64, inputTokens: Int64, outputTokens: Int64,
        credits: MicroCredits, costUSD: PicoUSD
    ) {
        self.model = model
        self.provider = provider
        self.requests = requests
        self.byokRequests = byokRequests
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.credits = credits
        self.costUSD = costUSD
    }
}
