/// The test helpers: what happens on Stripe's side (the customer pays, a refund, a dispute), each changing
/// the objects and returning the event Stripe would send (also appended to `events`).
extension FakeStripe {
    /// The customer pays on the Checkout page with a test card: the session becomes `complete` and `paid`
    /// (or `unpaid`: a delayed method, settled later by `asyncPaymentSucceeded/Failed`); a PaymentIntent, its
    /// charge and a new `pm_…` (saved to the customer when `payment_intent_data[setup_future_usage]` was set,
    /// keeping the test card's behaviour) are created. When paid, `payment_intent.succeeded` for the
    /// PaymentIntent comes first in `events`, as on Stripe. `amountOverride`/`currencyOverride` pay another
    /// amount than the session's (a mismatch Keygate must flag).
    @discardableResult
    public func completeCheckout(
        sessionID: String, paymentMethod: String = "pm_card_visa", paid: Bool = true, amountOverride: Int? = nil,
        currencyOverride: String? = nil
    ) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in
            try state.completeCheckout(sessionID, paymentMethod: paymentMethod, paid: paid, amount: amountOverride, currency: currencyOverride)
        }
    }

    /// The delayed payment of a completed, unpaid session succeeds: `checkout.session.async_payment_succeeded`.
    @discardableResult
    public func asyncPaymentSucceeded(sessionID: String) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in try state.settleAsyncPayment(sessionID, succeeded: true) }
    }

    /// The delayed payment of a completed, unpaid session fails: `checkout.session.async_payment_failed`.
    @discardableResult
    public func asyncPaymentFailed(sessionID: String) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in try state.settleAsyncPayment(sessionID, succeeded: false) }
    }

    /// An open session expires unpaid: `checkout.session.expired`.
    @discardableResult
    public func expireCheckout(sessionID: String) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in try state.expireCheckout(sessionID) }
    }

    /// Refunds part (or, with nil, the rest) of a succeeded charge: `charge.refunded` with the charge.
    /// `currencyOverride` reports it in another currency than the charge's (a mismatch Keygate must refuse).
    @discardableResult
    public func refund(chargeID: String, amount: Int? = nil, currencyOverride: String? = nil) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in try state.refund(chargeID, amount: amount, currency: currencyOverride) }
    }

    /// The card holder disputes a charge: `charge.dispute.created` with a `needs_response` dispute (in
    /// `currencyOverride` rather than the charge's currency, when given).
    @discardableResult
    public func openDispute(
        chargeID: String, amount: Int? = nil, reason: String = "fraudulent", currencyOverride: String? = nil
    ) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in
            try state.openDispute(chargeID, amount: amount, reason: reason, currency: currencyOverride)
        }
    }

    /// The dispute is decided: `charge.dispute.closed`, status `won` or `lost`.
    @discardableResult
    public func closeDispute(disputeID: String, won: Bool) throws -> FakeStripeEvent {
        try state.withLock { state throws(FakeStripeError) in try state.closeDispute(disputeID, won: won) }
    }
}
