import KeygateCore

/// What `JobStore.openJob` did.
public enum JobOpenOutcome: Sendable, Equatable {
    case opened(Job)
    /// Available does not cover the amount; nothing changed.
    case insufficient(CreditBalance)
}

/// What `JobStore.reserveJobCall` did. Anything but `reserved` changed nothing.
public enum JobCallOutcome: Sendable, Equatable {
    /// Held: `trial` from the job's trial part (spent first), `regular` from its purchased part.
    case reserved(trial: MicroCredits, regular: MicroCredits)
    /// No such job in this organisation (another organisation's job is not found either).
    case notFound
    /// The job is closed, or past its expiry and about to be.
    case closed(Job)
    /// What is left of the job's hold does not cover the estimate.
    case exhausted(Job)
}

/// What closing a job (`completeJob`, `failJob`) did.
public enum JobCloseOutcome: Sendable, Equatable {
    case closed(Job)
    case notFound
    /// It was closed already; nothing changed.
    case alreadyClosed(Job)
}

/// One completed job of a tier, for the tiers report.
public struct TierJobCost: Sendable, Hashable {
    public var tier: String
    public var charged: MicroCredits
    /// Its calls' tokens at list price (the sum of their usage records' `cost_usd`).
    public var listPrice: PicoUSD

    public init(tier: String, charged: MicroCredits, listPrice: PicoUSD) {
        self.tier = tier
        self.charged = charged
        self.listPrice = listPrice
    }
}
