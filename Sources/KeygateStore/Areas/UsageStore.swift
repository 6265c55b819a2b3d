/// Usage records: one per request, whoever paid.
public protocol UsageStore: Sendable {
    /// Appends usage records, all in one transaction (the recorder batches them: group commit).
    func recordUsage(_ records: [UsageRecord]) async throws
    func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord]
    /// Requests paid with the organisation's own keys since a time (the billing page's BYOK request count).
    func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64
    /// The organisation's usage since `since` (ms), by UTC day, by model and by provider.
    func usageSummary(organizationID: String, since: Int64) async throws -> UsageSummary
    /// One request's record, nil until it is written (the recorder writes in batches) or for another organisation's.
    func usageRecord(requestID: String, organizationID: String) async throws -> UsageRecord?
}

extension UsageStore {
    public func recordUsage(_ record: UsageRecord) async throws {
        try await recordUsage([record])
    }
}
