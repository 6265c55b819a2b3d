import KeygateCore

/// A payment fact Stripe reported (a webhook event, or the synchronous answer to a top-up), as the store
/// applies it. Amounts are minor units; `currency` lower-case.
public enum PaymentChange: Sendable, Hashable {
    /// The purchase was paid: grants its credits if it is `pending` and `amount`/`currency` match the record
    /// (otherwise it becomes `flagged`, nothing granted). A checkout's `paymentMethodID` becomes the
    /// organisation's top-up card (and clears a `failing` auto top-up: a new card).
    case paid(purchaseID: String, amount: Int64, currency: String, paymentIntentID: String?, chargeID: String?, paymentMethodID: String?)
    /// The payment failed: a `pending` purchase becomes `failed` with `reason`; for a top-up, auto top-up
    /// becomes `failing` with the same reason.
    case failed(purchaseID: String, reason: String, paymentIntentID: String?)
    /// A Checkout Session expired unpaid: `pending` → `expired`.
    case expired(purchaseID: String)
    /// Stripe's cumulative refunded amount on the purchase's charge. Only the part not yet taken back becomes
    /// a negative `refund` entry (credits in proportion to the amount; the last refund takes exactly the rest).
    case refunded(purchaseID: String, amountRefunded: Int64, currency: String, chargeID: String?)
    /// A dispute opened: a negative `dispute` entry for the disputed share of the credits, auto top-up `paused`.
    /// Once per dispute id; nothing if the dispute is already known (e.g. closed first, out of order).
    case disputeOpened(purchaseID: String, disputeID: String, amount: Int64, currency: String)
    /// A dispute closed. `won`: what its opening took is restored (a positive `dispute` entry). Closed before
    /// it was seen open: lost takes the credits, won changes nothing.
    case disputeClosed(purchaseID: String, disputeID: String, amount: Int64, currency: String, won: Bool)
}

/// What applying a `PaymentChange` did.
public enum PaymentChangeOutcome: Sendable, Hashable {
    /// Money moved (or the purchase changed state); the balance after it.
    case applied(CreditBalance)
    /// Recorded without moving money (a failure, an expiry, a dispute closed as won before it was seen open, a
    /// refund not larger than the last one).
    case recorded
    /// The payment did not match the purchase, nothing granted; or a refund or dispute came in another currency
    /// than the purchase's, nothing taken back or given (`currencyMismatch`). The reason names both figures.
    case flagged(reason: String)
    /// This event id was applied before, or the purchase is no longer in a state the change applies to.
    case alreadyApplied
    /// No purchase with that id.
    case unknownPurchase
}

/// What `claimTopUp` decided.
public enum TopUpClaim: Sendable, Hashable {
    /// A pending top-up purchase now exists; charge `paymentMethodID` of `customerID` for it.
    case claimed(PurchaseRecord, customerID: String, paymentMethodID: String)
    /// Nothing to do: disabled, above the threshold, already in flight, failing or paused, no card (the reason).
    case notNeeded(String)
    /// Refused without a charge: the month's top-ups plus this one would pass the limit
    /// (`monthly_limit_reached`), recorded once per month as a `refused` purchase and in the account's state.
    case refused(String)
}

extension PaymentChange {
    /// The purchase the change is about.
    public var purchaseID: String {
        switch self {
        case .paid(let id, _, _, _, _, _), .failed(let id, _, _), .expired(let id), .refunded(let id, _, _, _),
            .disputeOpened(let id, _, _, _), .disputeClosed(let id, _, _, _, _):
            return id
        }
    }

    /// Why a refund or dispute cannot be applied to `purchase`, or nil. Its credits are taken back in proportion
    /// to the amount, and an amount in another currency than the purchase's is no proportion of it: such an event
    /// is flagged and moves nothing, with no rate to convert at (Stripe reports them in the charge's currency, which
    /// is the purchase's: a human looks at any other). A payment checks its own currency (`paid`).
    public func currencyMismatch(with purchase: PurchaseRecord) -> String? {
        let what: String
        let currency: String
        switch self {
        case .refunded(_, let amountRefunded, let reported, _): (what, currency) = ("refunded \(amountRefunded)", reported)
        case .disputeOpened(_, let disputeID, let amount, let reported), .disputeClosed(_, let disputeID, let amount, let reported, _):
            (what, currency) = ("dispute \(disputeID) of \(amount)", reported)
        case .paid, .failed, .expired: return nil
        }
        guard currency.lowercased() != purchase.currency.lowercased() else { return nil }
        return "\(what) \(currency.lowercased()), the purchase is \(purchase.amount) \(purchase.currency.lowercased())"
    }

    /// What `stripe_events.type` records for an applied event (every backend writes the same words).
    public var eventType: String {
        switch self {
        case .paid: return "paid"
        case .failed: return "failed"
        case .expired: return "expired"
        case .refunded: return "refunded"
        case .disputeOpened: return "dispute_opened"
        case .disputeClosed: return "dispute_closed"
        }
    }
}
