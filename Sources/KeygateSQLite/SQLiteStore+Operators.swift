import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Operator tokens (hashes only), organisations' suspension and usage across organisations on SQLite.
extension SQLiteStore {
    public func createOperatorToken(_ token: OperatorToken) async throws {
        do {
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO operator_tokens (id, name, lookup_id, token_hash, preview, created_at, revoked_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [token.id, token.name, token.lookupID, Data(token.hash), token.preview, token.createdAt, token.revokedAt])
            }
        } catch let error as DatabaseError
            where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
            || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
        {
            throw StoreError.duplicate("operator token")
        }
    }

    public func operatorToken(lookupID: String) async throws -> OperatorToken? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM operator_tokens WHERE lookup_id = ?", arguments: [lookupID]).map(Self.operatorToken(from:))
        }
    }

    public func operatorTokens() async throws -> [OperatorToken] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operator_tokens ORDER BY created_at, id").map(Self.operatorToken(from:))
        }
    }

    public func revokeOperatorToken(id: String, at: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [at, id])
            return db.changesCount == 1
        }
    }

    static func operatorToken(from row: Row) -> OperatorToken {
        OperatorToken(
            id: row["id"], name: row["name"], lookupID: row["lookup_id"], hash: Array(row["token_hash"] as Data), preview: row["preview"],
            createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    public func setSuspension(_ suspension: OrganizationSuspension?, organizationID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE organizations SET suspended_at = ?, suspended_reason = ? WHERE id = ?",
                arguments: [suspension?.suspendedAt, suspension?.reason, organizationID])
            guard db.changesCount == 1 else { throw StoreError.notFound("organisation \(organizationID)") }
        }
    }

    /// On the request path (once per organisation per second, behind the server's suspension cache): a blocking
    /// read with a cached statement, like `apiKey(lookupID:)`. An awaited read here, beside those blocking ones,
    /// could leave every cooperative thread waiting for a reader that only an awaited read's resumption frees.
    public func suspension(organizationID: String) async throws -> OrganizationSuspension? {
        try suspensionBlocking(organizationID: organizationID)
    }

    private func suspensionBlocking(organizationID: String) throws -> OrganizationSuspension? {
        try pool.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT suspended_at, suspended_reason FROM organizations WHERE id = ? AND suspended_at IS NOT NULL")
            return try Row.fetchOne(statement, arguments: [organizationID])
                .map { OrganizationSuspension(reason: $0["suspended_reason"] ?? "", suspendedAt: $0["suspended_at"]) }
        }
    }

    public func suspensions() async throws -> [String: OrganizationSuspension] {
        try await pool.read { db in
            var result: [String: OrganizationSuspension] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, suspended_at, suspended_reason FROM organizations WHERE suspended_at IS NOT NULL") {
                result[row["id"]] = OrganizationSuspension(reason: row["suspended_reason"] ?? "", suspendedAt: row["suspended_at"])
            }
            return result
        }
    }

    public func dailyUsage(since: Int64, until: Int64) async throws -> [OrganizationDailyUsage] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT created_at / \(UsageDay.lengthMs) AS day, organization_id, count(*) AS requests, sum(byok) AS byok_requests,
                      sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(credits_charged_micros) AS credits,
                      sum(fee_credits_micros) AS fees, sum(cost_usd_picos) AS cost
                    FROM usage_records WHERE created_at >= ? AND created_at < ?
                    GROUP BY day, organization_id ORDER BY day, organization_id
                    """, arguments: [since, until]
            ).map { row in
                OrganizationDailyUsage(
                    dayStart: (row["day"] as Int64) * UsageDay.lengthMs, organizationID: row["organization_id"], requests: row["requests"],
                    byokRequests: row["byok_requests"], inputTokens: row["input_tokens"], outputTokens: row["output_tokens"],
                    creditsCharged: MicroCredits(row["credits"]), fees: MicroCredits(row["fees"]), costUSD: PicoUSD(row["cost"]))
            }
        }
    }
}
