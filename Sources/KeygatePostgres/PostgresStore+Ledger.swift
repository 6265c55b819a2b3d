import KeygateCore
import KeygateStore
import PostgresNIO

/// LedgerStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func balance(organizationID: String) async throws -> CreditBalance {
        throw StoreError.unavailable("PostgresStore.balance is not implemented yet")
    }

    public func addCredits( organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64? ) async throws -> CreditBalance {
        throw StoreError.unavailable("PostgresStore.addCredits is not implemented yet")
    }

    public func reserve( organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64 ) async throws -> ReservationOutcome {
        throw StoreError.unavailable("PostgresStore.reserve is not implemented yet")
    }

    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        throw StoreError.unavailable("PostgresStore.settle is not implemented yet")
    }

    public func release(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.release is not implemented yet")
    }

    public func chargeFee(organizationID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        throw StoreError.unavailable("PostgresStore.chargeFee is not implemented yet")
    }

    public func ledgerEntries(organizationID: String, limit: Int) async throws -> [LedgerEntry] {
        throw StoreError.unavailable("PostgresStore.ledgerEntries is not implemented yet")
    }
}
