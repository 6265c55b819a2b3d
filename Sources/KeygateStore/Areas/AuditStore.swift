/// The operator's audit trail: append-only, read newest first.
public protocol AuditStore: Sendable {
    func appendAudit(_ record: AuditRecord) async throws
    /// The newest `limit` records (optionally only those about `target`), newest first.
    func auditRecords(limit: Int, target: String?) async throws -> [AuditRecord]
}
