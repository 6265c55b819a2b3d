import KeygateCore

/// How credits were bought.
public enum PurchaseKind: String, Sendable, Hashable, CaseIterable {
    /// An org admin bought a pack through a Stripe Checkout Session.
    case checkout
    /// Keygate charged the saved card off-session (auto top-up).
    case topup
}

/// Where a purchase is. Only `pending → succeeded` grants credits, exactly once.
public enum PurchaseStatus: String, Sendable, Hashable, CaseIterable {
    /// Written before Stripe is called; waiting for the payment (a checkout's customer, or a top-up's answer).
    case pending
    /// Paid with the amount and currency of the record: its credits were granted.
    case succeeded
    /// The payment failed (declined, authentication required, async payment failed); `failureReason` says why.
    case failed
    /// Stripe reported a payment that does not match the record (amount or currency): nothing granted.
    case flagged
    /// The Checkout Session expired unpaid.
    case expired
    /// An auto top-up refused before any charge (`failureReason`: `monthly_limit_reached`, …).
    case refused
}

/// One checkout or top-up: what it grants and what Stripe said of it. Amounts are integer minor units of
/// `currency` (cents for usd); `credits` is what a successful payment grants.
public struct PurchaseRecord: Sendable, Hashable {
    /// `pur_…`; also the root of every Stripe `Idempotency-Key` sent for it.
    public var id: String
    public var organizationID: String
    public var kind: PurchaseKind
    public var status: PurchaseStatus
    public var packID: String
    public var credits: MicroCredits
    public var amount: Int64
    /// Lower-case ISO code, as Stripe writes it (`usd`).
    public var currency: String
    public var checkoutSessionID: String?
    public var paymentIntentID: String?
    public var chargeID: String?
    public var failureReason: String?
    /// Cumulative amount Stripe refunded (minor units), and the credits taken back for refunds and disputes.
    public var refundedAmount: Int64
    public var creditsTakenBack: MicroCredits
    public var createdAt: Int64
    /// When it left `pending`.
    public var completedAt: Int64?

    public init(
        id: String, organizationID: String, kind: PurchaseKind, status: PurchaseStatus = .pending, packID: String,
        credits: MicroCredits, amount: Int64, currency: String, checkoutSessionID: String? = nil, paymentIntentID: String? = nil,
        chargeID: String? = nil, failureReason: String? = nil, refundedAmount: Int64 = 0, creditsTakenBack: MicroCredits = .zero,
        createdAt: Int64, completedAt: Int64? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.kind = kind
        self.status = status
        self.packID = packID
        self.credits = credits
        self.amount = amount
        self.currency = currency
        self.checkoutSessionID = checkoutSessionID
        self.paymentIntentID = paymentIntentID
        self.chargeID = chargeID
        self.failureReason = failureReason
        self.refundedAmount = refundedAmount
        self.creditsTakenBack = creditsTakenBack
        self.createdAt = createdAt
        self.completedAt = completedAt
    }
}
