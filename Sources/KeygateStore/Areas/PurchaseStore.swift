/// Purchases (checkouts and top-ups) and the Stripe events that settle them (SPEC §7). Every grant, refund and
/// dispute is a ledger entry written in the same transaction as the purchase's new state and the event id.
public protocol PurchaseStore: Sendable {
    /// Writes a new purchase (normally `pending`) before Stripe is called.
    func createPurchase(_ purchase: PurchaseRecord) async throws
    /// Records the Checkout Session Stripe created for a pending purchase.
    func setCheckoutSession(purchaseID: String, sessionID: String) async throws
    func purchase(id: String) async throws -> PurchaseRecord?
    /// The purchase Stripe knows by this Checkout Session, PaymentIntent or Charge id.
    func purchase(stripeID: String) async throws -> PurchaseRecord?
    /// Newest first.
    func purchases(organizationID: String, limit: Int) async throws -> [PurchaseRecord]
    /// Applies `change` once. With an `eventID` (a webhook), the id is stored in the same transaction as the
    /// effect, so a replay, a concurrent duplicate or another process delivering the same event gets
    /// `.alreadyApplied` and changes nothing. Without one (a top-up's synchronous answer), the purchase's own
    /// state makes it once: only a `pending` purchase is granted.
    func applyPayment(_ change: PaymentChange, eventID: String?) async throws -> PaymentChangeOutcome
}
