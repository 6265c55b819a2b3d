import KeygateCore
import KeygateDashboard
import KeygateStore

/// The billing page calls the same service as `/api/orgs/{slug}/…`: no second copy of any rule.
extension PaymentService: BillingActions {
    public var creditPacks: CreditPacks { packs }

    public func startCheckout(organization: Organization, packID: String) async throws -> String {
        try await checkout(organization: organization, packID: packID).url
    }

    public func autoTopUpStatus(organization: Organization) async throws -> AutoTopUpStatus {
        let view = try await autoTopUp(organization: organization)
        return AutoTopUpStatus(account: view.account, spentThisMonth: view.spentThisMonth)
    }

    public func saveAutoTopUp(organization: Organization, enabled: Bool, threshold: String?, packID: String?, monthlyLimit: String?) async throws {
        let change = try AutoTopUpChange(
            enabled: enabled, thresholdText: threshold, packID: packID, monthlyLimitText: monthlyLimit, currency: packs.currency)
        _ = try await updateAutoTopUp(organization: organization, change)
    }

    public func purchase(checkoutSessionID sessionID: String) async throws -> PurchaseRecord? {
        guard let found = try await store.purchase(stripeID: sessionID), found.checkoutSessionID == sessionID else { return nil }
        return found
    }
}
