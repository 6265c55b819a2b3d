import KeygateCore
import KeygateStore
import PostgresNIO

/// PurchaseStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func createPurchase(_ purchase: PurchaseRecord) async throws {
        throw StoreError.unavailable("PostgresStore.createPurchase is not implemented yet")
    }

    public func setCheckoutSession(purchaseID: String, sessionID: String) async throws {
        throw StoreError.unavailable("PostgresStore.setCheckoutSession is not implemented yet")
    }

    public func purchase(id: String) async throws -> PurchaseRecord? {
        throw StoreError.unavailable("PostgresStore.purchase is not implemented yet")
    }

    public func purchase(stripeID: String) async throws -> PurchaseRecord? {
        throw StoreError.unavailable("PostgresStore.purchase is not implemented yet")
    }

    public func purchases(organizationID: String, limit: Int) async throws -> [PurchaseRecord] {
        throw StoreError.unavailable("PostgresStore.purchases is not implemented yet")
    }

    public func applyPayment(_ change: PaymentChange, eventID: String?) async throws -> PaymentChangeOutcome {
        throw StoreError.unavailable("PostgresStore.applyPayment is not implemented yet")
    }
}
