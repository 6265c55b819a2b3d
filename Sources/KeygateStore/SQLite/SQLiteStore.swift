import Foundation
import GRDB
import KeygateCore

/// The embedded default: one SQLite file in WAL mode through a GRDB pool (many readers, one writer).
/// The CLI and a running server may open the same file at once; writers wait on each other (busy timeout)
/// instead of failing.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    /// Every ledger change and usage record goes through it (group commit).
    let writes: SQLiteWriteBatcher
    private let checkpointer: SQLiteCheckpointer
    public let path: String

    /// When a commit reaches the disk (`PRAGMA synchronous`).
    public enum Durability: String, Sendable {
        /// WAL appended before the commit returns: survives any crash of the process (the default).
        case normal
        /// WAL also synced to the device before the commit returns: survives a power loss too, at the price of
        /// one sync per commit (group commit shares it between the writes waiting together).
        case full
    }

    public init(path: String, durability: Durability = .normal) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets NORMAL when it opens a pool in WAL mode; only the writer connection commits.
            if durability == .full {
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            }
        } catch {
            throw StoreError.unavailable("cannot open SQLite database \(path): \(Self.reason(error))")
        }
        writes = SQLiteWriteBatcher(pool: pool)
        do {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = \(SQLiteCheckpointer.backstopPages)") }
            checkpointer = try SQLiteCheckpointer(path: path)
        } catch {
            throw StoreError.unavailable("cannot open SQLite database \(path): \(Self.reason(error))")
        }
    }

    static func reason(_ error: Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }

    public func migrate() async throws {
        do {
            try SQLiteMigrations.migrator.migrate(pool)
        } catch {
            throw StoreError.unavailable("cannot prepare SQLite database \(path): \(Self.reason(error))")
        }
    }

    public func checkReachable() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func close() async throws {
        checkpointer.stop()
        try pool.close()
    }

    // MARK: Organisations

    public func createOrganization(slug: String, name: String) async throws -> Organization {
        guard Organization.isValidSlug(slug) else {
            throw StoreError.invalid("invalid organisation slug '\(slug)': use 2–63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
        }
        let org = Organization(id: Identifiers.make("org"), slug: slug, name: name, createdAt: Clock.nowMs())
        do {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [org.id, org.slug, org.name, org.createdAt])
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.duplicate("organisation '\(slug)'")
        }
        return org
    }

    public func organization(slug: String) async throws -> Organization? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, slug, name, created_at FROM organizations WHERE slug = ?", arguments: [slug])
                .map { Self.organization(from: $0) }
        }
    }

    public func organizations() async throws -> [Organization] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, slug, name, created_at FROM organizations ORDER BY slug").map { Self.organization(from: $0) }
        }
    }

    static func organization(from row: Row, prefix: String = "") -> Organization {
        Organization(id: row[prefix + "id"], slug: row[prefix + "slug"], name: row[prefix + "name"], createdAt: row[prefix + "created_at"])
    }

    // MARK: API keys

    public func createAPIKey(_ key: NewAPIKey) async throws -> APIKeyRecord {
        let record = APIKeyRecord(id: Identifiers.make("key"), organizationID: key.organizationID, name: key.name,
                                  lookupID: key.lookupID, hash: key.hash, preview: key.preview, isAdmin: key.isAdmin,
                                  createdAt: Clock.nowMs(), revokedAt: nil)
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO api_keys (id, organization_id, name, lookup_id, key_hash, preview, is_admin, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.id, record.organizationID, record.name, record.lookupID, Data(record.hash),
                                 record.preview, record.isAdmin, record.createdAt])
        }
        return record
    }

    /// On the request path (once per key per second, behind the server's key cache): a blocking read with a
    /// cached statement. A WAL read never waits for the writer and takes microseconds, less than the two thread
    /// hops of an `await`ed read.
    public func apiKey(lookupID: String) async throws -> AuthenticatedKey? {
        try apiKeyBlocking(lookupID: lookupID)
    }

    private func apiKeyBlocking(lookupID: String) throws -> AuthenticatedKey? {
        try pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT k.*, o.id AS o_id, o.slug AS o_slug, o.name AS o_name, o.created_at AS o_created_at
                FROM api_keys k JOIN organizations o ON o.id = k.organization_id
                WHERE k.lookup_id = ?
                """)
            guard let row = try Row.fetchOne(statement, arguments: [lookupID]) else { return nil }
            return AuthenticatedKey(key: Self.apiKey(from: row), organization: Self.organization(from: row, prefix: "o_"))
        }
    }

    public func apiKeys(organizationID: String) async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE organization_id = ? ORDER BY created_at, id",
                             arguments: [organizationID]).map(Self.apiKey(from:))
        }
    }

    public func revokeAPIKey(id: String, organizationID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND organization_id = ? AND revoked_at IS NULL",
                           arguments: [Clock.nowMs(), id, organizationID])
            return db.changesCount == 1
        }
    }

    static func apiKey(from row: Row) -> APIKeyRecord {
        let hash: Data = row["key_hash"]
        return APIKeyRecord(id: row["id"], organizationID: row["organization_id"], name: row["name"], lookupID: row["lookup_id"],
                            hash: Array(hash), preview: row["preview"], isAdmin: row["is_admin"],
                            createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    // MARK: Usage

    public func recordUsage(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await writes.write { db in try Self.insertUsage(db, records) }
    }

    /// Appends usage records in the caller's transaction. One record per request: a second one for the same
    /// request id is dropped rather than failing the batch it came in.
    static func insertUsage(_ db: Database, _ records: [UsageRecord]) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO usage_records (request_id, organization_id, api_key_id, model, provider, byok, billing,
              input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated,
              cost_usd_picos, credits_charged_micros, fee_credits_micros, latency_ms, ttft_ms, stream, status, error_code, created_at,
              byok_key_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for r in records {
            try statement.execute(arguments: [
                r.requestID, r.organizationID, r.apiKeyID, r.model, r.provider, r.byok, r.billing?.rawValue,
                r.inputTokens, r.outputTokens, r.cachedInputTokens, r.reasoningTokens, r.tokensEstimated,
                r.costUSD.value, r.creditsCharged.value, r.feeCredits.value, r.latencyMs, r.timeToFirstTokenMs,
                r.stream, r.status, r.errorCode, r.createdAt, r.byokKeyID,
            ])
            if let keyID = r.byokKeyID {
                try db.cachedStatement(sql: "UPDATE byok_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?")
                    .execute(arguments: [r.createdAt, keyID])
            }
        }
    }

    public func byokRequestCount(organizationID: String, since: Int64) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT count(*) FROM usage_records WHERE organization_id = ? AND byok = 1 AND created_at >= ?",
                               arguments: [organizationID, since]) ?? 0
        }
    }

    public func usageRecords(organizationID: String, limit: Int) async throws -> [UsageRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM usage_records WHERE organization_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                             arguments: [organizationID, limit]).map { row in
                UsageRecord(
                    requestID: row["request_id"], organizationID: row["organization_id"], apiKeyID: row["api_key_id"],
                    model: row["model"], provider: row["provider"], byok: row["byok"],
                    billing: (row["billing"] as String?).flatMap(BillingPath.init(rawValue:)),
                    usage: TokenUsage(inputTokens: row["input_tokens"], outputTokens: row["output_tokens"],
                                      cachedInputTokens: row["cached_input_tokens"], reasoningTokens: row["reasoning_tokens"],
                                      estimated: row["tokens_estimated"]),
                    costUSD: PicoUSD(row["cost_usd_picos"]), creditsCharged: MicroCredits(row["credits_charged_micros"]),
                    feeCredits: MicroCredits(row["fee_credits_micros"]), latencyMs: row["latency_ms"],
                    timeToFirstTokenMs: row["ttft_ms"], stream: row["stream"], status: row["status"],
                    errorCode: row["error_code"], createdAt: row["created_at"], byokKeyID: row["byok_key_id"])
            }
        }
    }

    // MARK: BYOK keys

    public func addBYOKKey(_ key: BYOKKeyRecord) async throws {
        try await pool.write { db in
            if key.status == .active {
                try db.execute(sql: "UPDATE byok_keys SET status = 'inactive' WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid')",
                               arguments: [key.organizationID, key.provider])
            }
            try db.execute(sql: """
                INSERT INTO byok_keys (id, organization_id, provider, ciphertext, master_key_id, preview, status, created_at,
                  last_used_at, last_validated_at, last_validation_result)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [key.id, key.organizationID, key.provider, Data(key.ciphertext), key.masterKeyID, key.preview,
                                 key.status.rawValue, key.createdAt, key.lastUsedAt, key.lastValidatedAt, key.lastValidationResult])
        }
    }

    public func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM byok_keys WHERE organization_id = ? ORDER BY created_at, id",
                             arguments: [organizationID]).map { Self.byokKey(from: $0) }
        }
    }

    public func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM byok_keys WHERE id = ? AND organization_id = ?",
                             arguments: [id, organizationID]).map { Self.byokKey(from: $0) }
        }
    }

    public func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord? {
        try activeBYOKKeyBlocking(organizationID: organizationID, provider: provider)
    }

    /// On the request path: a blocking read with a cached statement, like the API key lookup.
    private func activeBYOKKeyBlocking(organizationID: String, provider: String) throws -> BYOKKeyRecord? {
        try pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT * FROM byok_keys WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid')
                ORDER BY status = 'active' DESC LIMIT 1
                """)
            return try Row.fetchOne(statement, arguments: [organizationID, provider]).map { Self.byokKey(from: $0) }
        }
    }

    public func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool {
        try await pool.write { db in
            guard let provider = try String.fetchOne(db, sql: "SELECT provider FROM byok_keys WHERE id = ? AND organization_id = ?",
                                                     arguments: [id, organizationID]) else { return false }
            if status == .active {
                try db.execute(sql: "UPDATE byok_keys SET status = 'inactive' WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid') AND id != ?",
                               arguments: [organizationID, provider, id])
            }
            if let validationResult {
                try db.execute(sql: "UPDATE byok_keys SET status = ?, last_validated_at = ?, last_validation_result = ? WHERE id = ?",
                               arguments: [status.rawValue, Clock.nowMs(), validationResult, id])
            } else {
                try db.execute(sql: "UPDATE byok_keys SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
            }
            return true
        }
    }

    public func deleteBYOKKey(id: String, organizationID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM byok_keys WHERE id = ? AND organization_id = ?", arguments: [id, organizationID])
            return db.changesCount == 1
        }
    }

    public func allBYOKKeys() async throws -> [BYOKKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM byok_keys ORDER BY organization_id, created_at").map { Self.byokKey(from: $0) }
        }
    }

    public func replaceBYOKCiphertext(id: String, from old: [UInt8], to new: [UInt8], masterKeyID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE byok_keys SET ciphertext = ?, master_key_id = ? WHERE id = ? AND ciphertext = ?",
                           arguments: [Data(new), masterKeyID, id, Data(old)])
            return db.changesCount == 1
        }
    }

    public func organizationSettings(organizationID: String) async throws -> OrganizationSettings {
        try await pool.read { db in
            let fallback = try Bool.fetchOne(db, sql: "SELECT byok_fallback_on_rate_limit FROM organizations WHERE id = ?",
                                             arguments: [organizationID]) ?? false
            return OrganizationSettings(byokFallbackOnRateLimit: fallback)
        }
    }

    public func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE organizations SET byok_fallback_on_rate_limit = ? WHERE id = ?",
                           arguments: [settings.byokFallbackOnRateLimit, organizationID])
        }
    }

    static func byokKey(from row: Row) -> BYOKKeyRecord {
        let ciphertext: Data = row["ciphertext"]
        return BYOKKeyRecord(
            id: row["id"], organizationID: row["organization_id"], provider: row["provider"], ciphertext: Array(ciphertext),
            masterKeyID: row["master_key_id"], preview: row["preview"],
            status: BYOKKeyStatus(rawValue: row["status"]) ?? .inactive, createdAt: row["created_at"],
            lastUsedAt: row["last_used_at"], lastValidatedAt: row["last_validated_at"], lastValidationResult: row["last_validation_result"])
    }
}
