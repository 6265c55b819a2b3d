import KeygateCore
import KeygateStore
import PostgresNIO

/// LedgerMaintenanceStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func verifyLedger(organizationID: String?) async throws -> [LedgerDiscrepancy] {
        throw StoreError.unavailable("PostgresStore.verifyLedger is not implemented yet")
    }

    public func heartbeat(instanceID: String, at: Int64) async throws {
        throw StoreError.unavailable("PostgresStore.heartbeat is not implemented yet")
    }

    public func releaseAbandonedReservations(now: Int64, deadBefore: Int64) async throws -> Int {
        throw StoreError.unavailable("PostgresStore.releaseAbandonedReservations is not implemented yet")
    }

    public func expireTrialCredits(now: Int64) async throws -> Int {
        throw StoreError.unavailable("PostgresStore.expireTrialCredits is not implemented yet")
    }
}
