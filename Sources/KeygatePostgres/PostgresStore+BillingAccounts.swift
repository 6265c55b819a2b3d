import KeygateCore
import KeygateStore
import PostgresNIO

/// BillingAccountStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func billingAccount(organizationID: String) async throws -> BillingAccount {
        throw StoreError.unavailable("PostgresStore.billingAccount is not implemented yet")
    }

    public func setStripeCustomerID(_ customerID: String, organizationID: String) async throws -> String {
        throw StoreError.unavailable("PostgresStore.setStripeCustomerID is not implemented yet")
    }

    public func attachTopUpCard(customerID: String, paymentMethodID: String, organizationID: String) async throws -> BillingAccount {
        throw StoreError.unavailable("PostgresStore.attachTopUpCard is not implemented yet")
    }

    public func setAutoTopUp(_ settings: AutoTopUpSettings, organizationID: String) async throws -> BillingAccount {
        throw StoreError.unavailable("PostgresStore.setAutoTopUp is not implemented yet")
    }

    public func claimTopUp(_ purchase: PurchaseRecord, monthStart: Int64) async throws -> TopUpClaim {
        throw StoreError.unavailable("PostgresStore.claimTopUp is not implemented yet")
    }

    public func topUpSpend(organizationID: String, since: Int64) async throws -> Int64 {
        throw StoreError.unavailable("PostgresStore.topUpSpend is not implemented yet")
    }

    public func pendingTopUps(claimedBefore: Int64) async throws -> [PurchaseRecord] {
        throw StoreError.unavailable("PostgresStore.pendingTopUps is not implemented yet")
    }
}
