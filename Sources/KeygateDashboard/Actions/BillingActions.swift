import KeygateCore
import KeygateStore

/// What the billing page needs of buying credits (SPEC §7). KeygateServer's `PaymentService` conforms, so the
/// page and the JSON API share one implementation: every rule and its `GatewayError` message live there, and
/// the page only shows the message next to the form it came from.
public protocol BillingActions: Sendable {
    var creditPacks: CreditPacks { get }
    /// Starts a Stripe Checkout for the pack (a pending purchase is written first); returns where to send the
    /// customer.
    func startCheckout(organization: Organization, packID: String) async throws -> String
    func autoTopUpStatus(organization: Organization) async throws -> AutoTopUpStatus
    /// Saves the settings after the service's checks; nil leaves a field as it is.
    func saveAutoTopUp(organization: Organization, enabled: Bool, threshold: String?, packID: String?, monthlyLimit: String?) async throws
    /// Newest first.
    func purchases(organization: Organization, limit: Int) async throws -> [PurchaseRecord]
    /// The purchase whose Checkout Session is `sessionID`, nil when there is none.
    func purchase(checkoutSessionID sessionID: String) async throws -> PurchaseRecord?
}
