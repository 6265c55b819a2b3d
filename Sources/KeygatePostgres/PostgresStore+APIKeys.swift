import KeygateCore
import KeygateStore
import NIOCore
import PostgresNIO

/// Keygate API keys on PostgreSQL (hashes only, as BYTEA: bound as `ByteBuffer`, since PostgresNIO sends a
/// `[UInt8]` as a `"char"[]` array). A revocation reports whether it revoked through `RETURNING`.
extension PostgresStore {
    public func createAPIKey(_ key: NewAPIKey) async throws -> APIKeyRecord {
        let record = APIKeyRecord(
            id: Identifiers.make("key"), organizationID: key.organizationID, name: key.name,
            lookupID: key.lookupID, hash: key.hash, preview: key.preview, isAdmin: key.isAdmin,
            createdAt: WallClock.nowMs(), revokedAt: nil)
        try await read { connection in
            _ = try await connection.query(
                """
                INSERT INTO api_keys (id, organization_id, name, lookup_id, key_hash, preview, is_admin, created_at)
                VALUES (\(record.id), \(record.organizationID), \(record.name), \(record.lookupID), \(ByteBuffer(bytes: record.hash)),
                  \(record.preview), \(record.isAdmin), \(record.createdAt))
                """, logger: logger
            ).collect()
        }
        return record
    }

    /// On the request path (once per key per second, behind the server's key cache): one indexed join.
    public func apiKey(lookupID: String) async throws -> AuthenticatedKey? {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.apiKeyColumns("k")), o.id, o.slug, o.name, o.created_at
                FROM api_keys k JOIN organizations o ON o.id = k.organization_id
                WHERE k.lookup_id = \(lookupID)
                """, logger: logger)
            guard let row = try await rows.collect().first else { return nil }
            return AuthenticatedKey(key: try Self.apiKey(from: row), organization: try Self.organization(row.makeRandomAccess(), at: 9))
        }
    }

    public func apiKeys(organizationID: String) async throws -> [APIKeyRecord] {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.apiKeyColumns("api_keys")) FROM api_keys WHERE organization_id = \(organizationID)
                ORDER BY created_at, id COLLATE "C"
                """, logger: logger)
            return try await rows.collect().map(Self.apiKey(from:))
        }
    }

    public func revokeAPIKey(id: String, organizationID: String) async throws -> Bool {
        try await read { connection in
            try await connection.query(
                """
                UPDATE api_keys SET revoked_at = \(WallClock.nowMs())
                WHERE id = \(id) AND organization_id = \(organizationID) AND revoked_at IS NULL RETURNING id
                """, logger: logger
            ).collect().count == 1
        }
    }

    /// The nine columns `apiKey(from:)` reads first, of the table or alias `table`.
    static func apiKeyColumns(_ table: String) -> String {
        ["id", "organization_id", "name", "lookup_id", "key_hash", "preview", "is_admin", "created_at", "revoked_at"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func apiKey(from row: PostgresRow) throws -> APIKeyRecord {
        let r = row.makeRandomAccess()
        let hash = try r[4].decode(ByteBuffer.self)
        return APIKeyRecord(
            id: try r[0].decode(String.self), organizationID: try r[1].decode(String.self), name: try r[2].decode(String.self),
            lookupID: try r[3].decode(String.self), hash: Array(hash.readableBytesView), preview: try r[5].decode(String.self),
            isAdmin: try r[6].decode(Bool.self), createdAt: try r[7].decode(Int64.self), revokedAt: try r[8].decode(Int64?.self))
    }
}
