import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Usage records on SQLite: appended through the write batcher (group commit).
extension SQLiteStore {
    public func recordUsage(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await writes.write { db in try Self.insertUsage(db, records) }
    }

    /// Appends usage records in the caller's transaction. One record per request: a second one for the same
    /// request id is dropped rather than failing the batch it came in.
    static func insertUsage(_ db: Database, _ records: [UsageRecord]) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO usage_records (request_id, organization_id, api_key_id, model, provider, byok, billing,
                  input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated,
                  cost_usd_picos, credits_charged_micros, fee_credits_micros, latency_ms, ttft_ms, stream, status, error_code, created_at,
                  byok_key_id, job_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for r in records {
            try statement.execute(arguments: [
                r.requestID, r.organizationID, r.apiKeyID, r.model, r.provider, r.byok, r.billing?.rawValue,
                r.inputTokens, r.outputTokens, r.cachedInputTokens, r.reasoningTokens, r.tokensEstimated,
                r.costUSD.value, r.creditsCharged.value, r.feeCredits.value, r.latencyMs, r.timeToFirstTokenMs,
                r.stream, r.status, r.errorCode, r.createdAt, r.byokKeyID, r.jobID,
            ])
            if let keyID = r.byokKeyID {
                try db.cachedStatement(sql: "UPDATE byok_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?")
                    .execute(arguments: [r.createdAt, keyID])
            }
        }
    }

    public func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT count(*) FROM usage_records WHERE organization_id = ? AND byok = 1 AND created_at >= ?",
                arguments: [organizationID, since]) ?? 0
        }
    }

    public func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord] {
        try await pool.read { db in
            try Self.newestRows(db, of: "usage_records", orderedBy: "created_at DESC, rowid DESC", organizationID: organizationID, limit: limit)
                .map(Self.usageRecord(row:))
        }
    }

    public func usageRecord(requestID: String, organizationID: String) async throws -> UsageRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM usage_records WHERE request_id = ? AND organization_id = ?", arguments: [requestID, organizationID]
            ).map(Self.usageRecord(row:))
        }
    }

    public func usageSummary(organizationID: String, since: Int64) async throws -> UsageSummary {
        try await pool.read { db in
            let arguments: StatementArguments = [organizationID, since]
            let window = "FROM usage_records WHERE organization_id = ? AND created_at >= ?"
            let days = try Row.fetchAll(
                db,
                sql: """
                    SELECT created_at / \(UsageDay.lengthMs) AS day, count(*) AS requests, sum(byok) AS byok_requests,
                      sum(credits_charged_micros + fee_credits_micros) AS credits
                    \(window) GROUP BY day ORDER BY day
                    """, arguments: arguments
            ).map { row in
                UsageDay(
                    dayStart: (row["day"] as Int64) * UsageDay.lengthMs, requests: row["requests"], byokRequests: row["byok_requests"],
                    credits: MicroCredits(row["credits"]))
            }
            let totals = { (groupedBy: String) in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(groupedBy == "model" ? "model" : "''") AS model, provider, count(*) AS requests, sum(byok) AS byok_requests,
                          sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                          sum(credits_charged_micros + fee_credits_micros) AS credits, sum(cost_usd_picos) AS cost
                        \(window) GROUP BY \(groupedBy == "model" ? "model, provider" : "provider")
                        ORDER BY credits DESC, requests DESC, model, provider
                        """, arguments: arguments
                ).map { row in
                    UsageTotal(
                        model: row["model"], provider: row["provider"], requests: row["requests"], byokRequests: row["byok_requests"],
                        inputTokens: row["input_tokens"], outputTokens: row["output_tokens"], credits: MicroCredits(row["credits"]),
                        costUSD: PicoUSD(row["cost"]))
                }
            }
            return UsageSummary(days: days, byModel: try totals("model"), byProvider: try totals("provider"))
        }
    }

    static func usageRecord(row: Row) -> UsageRecord {
        UsageRecord(
            requestID: row["request_id"], organizationID: row["organization_id"], apiKeyID: row["api_key_id"],
            model: row["model"], provider: row["provider"], byok: row["byok"],
            billing: (row["billing"] as String?).flatMap(BillingPath.init(rawValue:)),
            usage: TokenUsage(
                inputTokens: row["input_tokens"], outputTokens: row["output_tokens"],
                cachedInputTokens: row["cached_input_tokens"], reasoningTokens: row["reasoning_tokens"],
                estimated: row["tokens_estimated"]),
            costUSD: PicoUSD(row["cost_usd_picos"]), creditsCharged: MicroCredits(row["credits_charged_micros"]),
            feeCredits: MicroCredits(row["fee_credits_micros"]), latencyMs: row["latency_ms"],
            timeToFirstTokenMs: row["ttft_ms"], stream: row["stream"], status: row["status"],
            errorCode: row["error_code"], createdAt: row["created_at"], byokKeyID: row["byok_key_id"], jobID: row["job_id"])
    }
}
