import KeygateCore

/// What an org admin sets for auto top-up (SPEC §7). `monthlyLimit` is in minor units of the pack's currency.
public struct AutoTopUpSettings: Sendable, Hashable {
    public var enabled: Bool
    /// A settlement that leaves available below this starts a top-up.
    public var threshold: MicroCredits
    public var packID: String?
    public var monthlyLimit: Int64

    public init(enabled: Bool = false, threshold: MicroCredits = .zero, packID: String? = nil, monthlyLimit: Int64 = 0) {
        self.enabled = enabled
        self.threshold = threshold
        self.packID = packID
        self.monthlyLimit = monthlyLimit
    }
}

/// Where auto top-up stands. Only an org admin's explicit change (or, for `failing`, a new card saved by a
/// checkout) takes it out of `failing` or `paused`: it is never re-enabled silently.
public enum AutoTopUpState: String, Sendable, Hashable, CaseIterable {
    /// Ready: the next crossing of the threshold starts a top-up.
    case idle
    /// A top-up is claimed and not yet answered (one per organisation at a time).
    case inFlight = "in_flight"
    /// The last top-up was declined or needs the customer (`lastError`): not retried.
    case failing
    /// A dispute paused it.
    case paused
    /// This calendar month's (UTC) limit would be passed: no top-up until next month or a higher limit.
    case monthlyLimitReached = "monthly_limit_reached"
}

/// An organisation's payment side: its Stripe customer, the card that funds top-ups, and auto top-up.
public struct BillingAccount: Sendable, Hashable {
    public var organizationID: String
    public var stripeCustomerID: String?
    /// The payment method of the newest completed checkout: the top-up card.
    public var paymentMethodID: String?
    public var autoTopUp: AutoTopUpSettings
    public var state: AutoTopUpState
    /// Stripe's reason for the last failure, in words (or `monthly_limit_reached`, or the dispute).
    public var lastError: String?
    public var lastErrorAt: Int64?

    public init(
        organizationID: String, stripeCustomerID: String? = nil, paymentMethodID: String? = nil,
        autoTopUp: AutoTopUpSettings = AutoTopUpSettings(), state: AutoTopUpState = .idle, lastError: String? = nil,
        lastErrorAt: Int64? = nil
    ) {
        self.organizationID = organizationID
        self.stripeCustomerID = stripeCustomerID
        self.paymentMethodID = paymentMethodID
        self.autoTopUp = autoTopUp
        self.state = state
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
    }
}
