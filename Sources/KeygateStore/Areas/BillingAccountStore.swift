import KeygateCore

/// An organisation's Stripe customer, top-up card and auto top-up (SPEC §7).
public protocol BillingAccountStore: Sendable {
    /// The account; an organisation that never bought anything has an empty one (auto top-up off, idle).
    func billingAccount(organizationID: String) async throws -> BillingAccount
    /// Stores the organisation's Stripe customer unless one is stored already; returns the one stored (the
    /// first writer wins, so two concurrent checkouts end with one customer).
    func setStripeCustomerID(_ customerID: String, organizationID: String) async throws -> String
    /// Makes an existing Stripe customer and card the organisation's top-up card (an operator attaching a
    /// customer the platform already had, e.g. when moving from its own billing): replaces both, counts as the
    /// newest card, and takes a `failing` auto top-up back to `idle` (a new card), like a completed checkout.
    func attachTopUpCard(customerID: String, paymentMethodID: String, organizationID: String) async throws -> BillingAccount
    /// Saves an org admin's settings. Enabling (or saving while enabled) is the explicit act that takes a
    /// `failing`, `paused` or `monthly_limit_reached` auto top-up back to `idle` and clears its last error.
    func setAutoTopUp(_ settings: AutoTopUpSettings, organizationID: String) async throws -> BillingAccount
    /// Claims the organisation's one top-up, in one transaction, if auto top-up is enabled and `idle`, a card
    /// is saved, available is below the threshold and no top-up is pending; refuses it when this month's
    /// (`monthStart`, UTC) succeeded and pending top-ups plus `purchase.amount` would pass the monthly limit.
    /// `purchase` is the prepared record (id, pack, credits, amount, currency); it is written `pending` only if claimed.
    func claimTopUp(_ purchase: PurchaseRecord, monthStart: Int64) async throws -> TopUpClaim
    /// What the organisation's top-ups created since `since` cost, succeeded and pending (minor units): the
    /// figure `claimTopUp` holds against the monthly limit.
    func topUpSpend(organizationID: String, since: Int64) async throws -> Int64
    /// Top-ups still `pending` that were claimed before `claimedBefore`: their process may have died before
    /// Stripe answered. Re-sending the PaymentIntent with the same idempotency key is safe.
    func pendingTopUps(claimedBefore: Int64) async throws -> [PurchaseRecord]
}
