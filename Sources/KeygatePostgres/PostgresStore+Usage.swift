import KeygateCore
import KeygateStore
import PostgresNIO

/// UsageStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func recordUsage(_ records: [UsageRecord]) async throws {
        throw StoreError.unavailable("PostgresStore.recordUsage is not implemented yet")
    }

    public func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord] {
        throw StoreError.unavailable("PostgresStore.usageRecords is not implemented yet")
    }

    public func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64 {
        throw StoreError.unavailable("PostgresStore.byokRequestCount is not implemented yet")
    }

    public func usageSummary(organizationID: String, since: Int64) async throws -> UsageSummary {
        throw StoreError.unavailable("PostgresStore.usageSummary is not implemented yet")
    }

    public func usageRecord(requestID: String, organizationID: String) async throws -> UsageRecord? {
        throw StoreError.unavailable("PostgresStore.usageRecord is not implemented yet")
    }
}
