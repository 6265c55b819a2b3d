import KeygateCore
import KeygateStore
import PostgresNIO

/// Usage records on PostgreSQL. A batch from the recorder is one transaction of few statements: one
/// multi-row `INSERT … VALUES (…), (…) ON CONFLICT (request_id) DO NOTHING` per 1,000 records (PostgreSQL
/// takes at most 65,535 parameters a statement; a record binds 23), so a request id recorded before, or twice
/// in the batch, is dropped instead of failing the batch. Records go in by request id and the BYOK keys they
/// used are locked in id order before their `last_used_at` moves, so concurrent batches from several replicas
/// (and BYOK status changes, which lock in the same order) never deadlock. The summary is summed in SQL, with
/// `sum(…)::bigint` since PostgreSQL sums BIGINTs as NUMERIC.
extension PostgresStore {
    public func recordUsage(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await transaction { connection in try await Self.writeUsageRecords(records, on: connection, logger: logger) }
    }

    /// The records in the caller's transaction: the inserts, then the BYOK keys' last use (keys locked in id order).
    static func writeUsageRecords(_ records: [UsageRecord], on connection: PostgresConnection, logger: Logger) async throws {
        guard !records.isEmpty else { return }
        // By request id (then arrival, so that a repeated id keeps its first record, as SQLite's in-order inserts do).
        let sorted = records.enumerated().sorted { ($0.element.requestID, $0.offset) < ($1.element.requestID, $1.offset) }.map(\.element)
        for start in stride(from: 0, to: sorted.count, by: Self.usageRowsPerInsert) {
            let chunk = sorted[start..<min(start + Self.usageRowsPerInsert, sorted.count)]
            _ = try await connection.query(try Self.insertUsage(chunk), logger: logger).collect()
        }
        var lastUse: [String: Int64] = [:]
        for record in records {
            if let keyID = record.byokKeyID { lastUse[keyID] = max(lastUse[keyID] ?? .min, record.createdAt) }
        }
        guard !lastUse.isEmpty else { return }
        let keyIDs = Array(lastUse.keys)
        let times = keyIDs.map { lastUse[$0]! }
        _ = try await connection.query(
            "SELECT id FROM byok_keys WHERE id = ANY(\(keyIDs)::text[]) ORDER BY id COLLATE \"C\" FOR UPDATE", logger: logger
        ).collect()
        _ = try await connection.query(
            """
            UPDATE byok_keys b SET last_used_at = GREATEST(coalesce(b.last_used_at, 0), u.at)
            FROM unnest(\(keyIDs)::text[], \(times)::bigint[]) AS u(id, at) WHERE b.id = u.id
            """, logger: logger
        ).collect()
    }

    static let usageRowsPerInsert = 1_000

    /// One `INSERT` of the records, each a `VALUES` row of 23 parameters (built with `PostgresBindings`: the
    /// interpolation of `PostgresQuery` takes a fixed number of values).
    static func insertUsage(_ records: ArraySlice<UsageRecord>) throws -> PostgresQuery {
        var sql = "INSERT INTO usage_records (\(usageColumns)) VALUES "
        var binds = PostgresBindings(capacity: records.count * 23)
        for (index, r) in records.enumerated() {
            sql += index == 0 ? "(" : ", ("
            sql += (1...23).map { "$\(index * 23 + $0)" }.joined(separator: ", ")
            sql += ")"
            binds.append(r.requestID)
            binds.append(r.organizationID)
            binds.append(r.apiKeyID)
            binds.append(r.model)
            binds.append(r.provider)
            binds.append(r.byok)
            binds.append(r.billing?.rawValue)
            binds.append(r.inputTokens)
            binds.append(r.outputTokens)
            binds.append(r.cachedInputTokens)
            binds.append(r.reasoningTokens)
            binds.append(r.tokensEstimated)
            binds.append(r.costUSD.value)
            binds.append(r.creditsCharged.value)
            binds.append(r.feeCredits.value)
            binds.append(r.latencyMs)
            binds.append(r.timeToFirstTokenMs)
            binds.append(r.stream)
            binds.append(Int32(clamping: r.status))
            binds.append(r.errorCode)
            binds.append(r.createdAt)
            binds.append(r.byokKeyID)
            binds.append(r.jobID)
        }
        sql += " ON CONFLICT (request_id) DO NOTHING"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The columns of a usage record, in the order of `insertUsage`'s binds and `usageRecord(from:)`'s reads.
    static let usageColumns = """
        request_id, organization_id, api_key_id, model, provider, byok, billing, input_tokens, output_tokens, cached_input_tokens,
        reasoning_tokens, tokens_estimated, cost_usd_picos, credits_charged_micros, fee_credits_micros, latency_ms, ttft_ms, stream,
        status, error_code, created_at, byok_key_id, job_id
        """

    public func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord] {
        try await usageRecords(
            """
            SELECT \(unescaped: Self.usageColumns) FROM usage_records WHERE organization_id = \(organizationID)
            ORDER BY created_at DESC, request_id COLLATE "C" DESC LIMIT \(limit)
            """)
    }

    public func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64 {
        try await read { connection in
            try await connection.query(
                "SELECT count(*) FROM usage_records WHERE organization_id = \(organizationID) AND byok AND created_at >= \(since)",
                logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
        }
    }

    public func usageRecord(requestID: String, organizationID: String) async throws -> UsageRecord? {
        try await usageRecords(
            """
            SELECT \(unescaped: Self.usageColumns) FROM usage_records WHERE request_id = \(requestID) AND organization_id = \(organizationID)
            """
        ).first
    }

    public func usageSummary(organizationID: String, since: Int64) async throws -> UsageSummary {
        try await read { connection in
            let days = try await connection.query(
                """
                SELECT created_at / \(UsageDay.lengthMs) AS day, count(*), count(*) FILTER (WHERE byok),
                  sum(credits_charged_micros + fee_credits_micros)::bigint
                FROM usage_records WHERE organization_id = \(organizationID) AND created_at >= \(since)
                GROUP BY day ORDER BY day
                """, logger: logger
            ).collect().map { row in
                let (day, requests, byokRequests, credits) = try row.decode((Int64, Int64, Int64, Int64).self)
                return UsageDay(dayStart: day * UsageDay.lengthMs, requests: requests, byokRequests: byokRequests, credits: MicroCredits(credits))
            }
            func totals(byModel: Bool) async throws -> [UsageTotal] {
                try await connection.query(
                    """
                    SELECT \(unescaped: byModel ? "model" : "''") AS model, provider, count(*) AS requests, count(*) FILTER (WHERE byok),
                      sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                      sum(credits_charged_micros + fee_credits_micros)::bigint AS credits, sum(cost_usd_picos)::bigint
                    FROM usage_records WHERE organization_id = \(organizationID) AND created_at >= \(since)
                    GROUP BY \(unescaped: byModel ? "model, provider" : "provider")
                    ORDER BY credits DESC, requests DESC, \(unescaped: byModel ? "model COLLATE \"C\", " : "")provider COLLATE "C"
                    """, logger: logger
                ).collect().map { row in
                    let (model, provider, requests, byokRequests, input, output, credits, cost) = try row.decode(
                        (String, String, Int64, Int64, Int64, Int64, Int64, Int64).self)
                    return UsageTotal(
                        model: model, provider: provider, requests: requests, byokRequests: byokRequests, inputTokens: input,
                        outputTokens: output, credits: MicroCredits(credits), costUSD: PicoUSD(cost))
                }
            }
            return UsageSummary(days: days, byModel: try await totals(byModel: true), byProvider: try await totals(byModel: false))
        }
    }

    func usageRecords(_ query: PostgresQuery) async throws -> [UsageRecord] {
        try await read { connection in
            try await connection.query(query, logger: logger).collect().map { row in
                let r = row.makeRandomAccess()
                return UsageRecord(
                    requestID: try r[0].decode(String.self), organizationID: try r[1].decode(String.self),
                    apiKeyID: try r[2].decode(String.self), model: try r[3].decode(String.self), provider: try r[4].decode(String.self),
                    byok: try r[5].decode(Bool.self), billing: try r[6].decode(String?.self).flatMap(BillingPath.init(rawValue:)),
                    usage: TokenUsage(
                        inputTokens: try r[7].decode(Int64.self), outputTokens: try r[8].decode(Int64.self),
                        cachedInputTokens: try r[9].decode(Int64.self), reasoningTokens: try r[10].decode(Int64.self),
                        estimated: try r[11].decode(Bool.self)),
                    costUSD: PicoUSD(try r[12].decode(Int64.self)), creditsCharged: MicroCredits(try r[13].decode(Int64.self)),
                    feeCredits: MicroCredits(try r[14].decode(Int64.self)), latencyMs: try r[15].decode(Int64.self),
                    timeToFirstTokenMs: try r[16].decode(Int64?.self), stream: try r[17].decode(Bool.self),
                    status: try r[18].decode(Int.self), errorCode: try r[19].decode(String?.self), createdAt: try r[20].decode(Int64.self),
                    byokKeyID: try r[21].decode(String?.self), jobID: try r[22].decode(String?.self))
            }
        }
    }
}
