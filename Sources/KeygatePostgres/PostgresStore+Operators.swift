import KeygateCore
import KeygateStore
import NIOCore
import PostgresNIO

/// Operator tokens (hashes only, as BYTEA), organisations' suspension and usage across organisations on
/// PostgreSQL: twins of `SQLiteStore+Operators`.
extension PostgresStore {
    public func createOperatorToken(_ token: OperatorToken) async throws {
        let inserted = try await read { connection in
            try await connection.query(
                """
                INSERT INTO operator_tokens (id, name, lookup_id, token_hash, preview, created_at, revoked_at)
                VALUES (\(token.id), \(token.name), \(token.lookupID), \(ByteBuffer(bytes: token.hash)), \(token.preview), \(token.createdAt),
                  \(token.revokedAt))
                ON CONFLICT DO NOTHING RETURNING id
                """, logger: logger
            ).collect().count
        }
        guard inserted == 1 else { throw StoreError.duplicate("operator token") }
    }

    public func operatorToken(lookupID: String) async throws -> OperatorToken? {
        try await read { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.operatorTokenColumns) FROM operator_tokens WHERE lookup_id = \(lookupID)", logger: logger
            ).collect().first.map(Self.operatorToken(from:))
        }
    }

    public func operatorTokens() async throws -> [OperatorToken] {
        try await read { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.operatorTokenColumns) FROM operator_tokens ORDER BY created_at, id COLLATE \"C\"", logger: logger
            ).collect().map(Self.operatorToken(from:))
        }
    }

    public func revokeOperatorToken(id: String, at: Int64) async throws -> Bool {
        try await read { connection in
            try await connection.query(
                "UPDATE operator_tokens SET revoked_at = \(at) WHERE id = \(id) AND revoked_at IS NULL RETURNING id", logger: logger
            ).collect().count == 1
        }
    }

    static let operatorTokenColumns = "id, name, lookup_id, token_hash, preview, created_at, revoked_at"

    static func operatorToken(from row: PostgresRow) throws -> OperatorToken {
        let r = row.makeRandomAccess()
        return OperatorToken(
            id: try r[0].decode(String.self), name: try r[1].decode(String.self), lookupID: try r[2].decode(String.self),
            hash: Array(try r[3].decode(ByteBuffer.self).readableBytesView), preview: try r[4].decode(String.self),
            createdAt: try r[5].decode(Int64.self), revokedAt: try r[6].decode(Int64?.self))
    }

    public func setSuspension(_ suspension: OrganizationSuspension?, organizationID: String) async throws {
        let updated = try await read { connection in
            try await connection.query(
                """
                UPDATE organizations SET suspended_at = \(suspension?.suspendedAt), suspended_reason = \(suspension?.reason)
                WHERE id = \(organizationID) RETURNING id
                """, logger: logger
            ).collect().count
        }
        guard updated == 1 else { throw StoreError.notFound("organisation \(organizationID)") }
    }

    public func suspension(organizationID: String) async throws -> OrganizationSuspension? {
        try await read { connection in
            try await connection.query(
                """
                SELECT suspended_at, suspended_reason FROM organizations WHERE id = \(organizationID) AND suspended_at IS NOT NULL
                """, logger: logger
            ).collect().first.map { row in
                let (at, reason) = try row.decode((Int64, String?).self)
                return OrganizationSuspension(reason: reason ?? "", suspendedAt: at)
            }
        }
    }

    public func suspensions() async throws -> [String: OrganizationSuspension] {
        try await read { connection in
            var result: [String: OrganizationSuspension] = [:]
            let rows = try await connection.query(
                "SELECT id, suspended_at, suspended_reason FROM organizations WHERE suspended_at IS NOT NULL", logger: logger)
            for try await (id, at, reason) in rows.decode((String, Int64, String?).self) {
                result[id] = OrganizationSuspension(reason: reason ?? "", suspendedAt: at)
            }
            return result
        }
    }

    public func dailyUsage(since: Int64, until: Int64) async throws -> [OrganizationDailyUsage] {
        try await read { connection in
            try await connection.query(
                """
                SELECT created_at / \(UsageDay.lengthMs) AS day, organization_id, count(*), count(*) FILTER (WHERE byok),
                  sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(credits_charged_micros)::bigint,
                  sum(fee_credits_micros)::bigint, sum(cost_usd_picos)::bigint
                FROM usage_records WHERE created_at >= \(since) AND created_at < \(until)
                GROUP BY day, organization_id ORDER BY day, organization_id COLLATE "C"
                """, logger: logger
            ).collect().map { row in
                let (day, org, requests, byok, input, output, credits, fees, cost) = try row.decode(
                    (Int64, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                return OrganizationDailyUsage(
                    dayStart: day * UsageDay.lengthMs, organizationID: org, requests: requests, byokRequests: byok, inputTokens: input,
                    outputTokens: output, creditsCharged: MicroCredits(credits), fees: MicroCredits(fees), costUSD: PicoUSD(cost))
            }
        }
    }
}
