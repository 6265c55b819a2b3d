import KeygateCore
import KeygateStore
import NIOCore
import PostgresNIO

/// BYOK keys on PostgreSQL, sealed (ciphertexts as BYTEA, bound as `ByteBuffer`).
///
/// The partial unique index `byok_keys_one_active` allows one active key per organisation and provider. Two
/// replicas rotating the same provider's key at once could both deactivate the old key and both insert an
/// active one (in READ COMMITTED the second's UPDATE does not see the first's new row), so a change of
/// status first takes a transaction-level advisory lock on the organisation and provider: the second waits,
/// then its statements see the first's commit. It then locks the provider's keys in id order, the order in
/// which `recordUsage` locks the keys whose `last_used_at` it moves, so the two never deadlock.
extension PostgresStore {
    public func addBYOKKey(_ key: BYOKKeyRecord) async throws {
        try await transaction { connection in
            if key.status == .active {
                try await Self.lockBYOKProvider(connection, organizationID: key.organizationID, provider: key.provider, logger: logger)
                _ = try await connection.query(
                    """
                    UPDATE byok_keys SET status = 'inactive'
                    WHERE organization_id = \(key.organizationID) AND provider = \(key.provider) AND status IN ('active', 'invalid')
                    """, logger: logger
                ).collect()
            }
            _ = try await connection.query(
                """
                INSERT INTO byok_keys (id, organization_id, provider, ciphertext, master_key_id, preview, status, created_at,
                  last_used_at, last_validated_at, last_validation_result)
                VALUES (\(key.id), \(key.organizationID), \(key.provider), \(ByteBuffer(bytes: key.ciphertext)), \(key.masterKeyID),
                  \(key.preview), \(key.status.rawValue), \(key.createdAt), \(key.lastUsedAt), \(key.lastValidatedAt),
                  \(key.lastValidationResult))
                """, logger: logger
            ).collect()
        }
    }

    public func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord] {
        try await byokKeys(
            """
            SELECT \(unescaped: Self.byokColumns) FROM byok_keys WHERE organization_id = \(organizationID)
            ORDER BY created_at, id COLLATE "C"
            """)
    }

    public func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord? {
        try await byokKeys(
            "SELECT \(unescaped: Self.byokColumns) FROM byok_keys WHERE id = \(id) AND organization_id = \(organizationID)"
        ).first
    }

    /// On the request path: one indexed read (`byok_keys_by_org_provider`).
    public func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord? {
        try await byokKeys(
            """
            SELECT \(unescaped: Self.byokColumns) FROM byok_keys
            WHERE organization_id = \(organizationID) AND provider = \(provider) AND status IN ('active', 'invalid')
            ORDER BY status = 'active' DESC LIMIT 1
            """
        ).first
    }

    public func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool {
        try await transaction { connection in
            guard
                let provider = try await connection.query(
                    "SELECT provider FROM byok_keys WHERE id = \(id) AND organization_id = \(organizationID)", logger: logger
                ).collect().first?.decode(String.self)
            else { return false }
            try await Self.lockBYOKProvider(connection, organizationID: organizationID, provider: provider, logger: logger)
            if status == .active {
                _ = try await connection.query(
                    """
                    UPDATE byok_keys SET status = 'inactive'
                    WHERE organization_id = \(organizationID) AND provider = \(provider) AND status IN ('active', 'invalid') AND id <> \(id)
                    """, logger: logger
                ).collect()
            }
            let updated: Int
            if let validationResult {
                updated = try await connection.query(
                    """
                    UPDATE byok_keys SET status = \(status.rawValue), last_validated_at = \(WallClock.nowMs()),
                      last_validation_result = \(validationResult)
                    WHERE id = \(id) AND organization_id = \(organizationID) RETURNING id
                    """, logger: logger
                ).collect().count
            } else {
                updated = try await connection.query(
                    "UPDATE byok_keys SET status = \(status.rawValue) WHERE id = \(id) AND organization_id = \(organizationID) RETURNING id",
                    logger: logger
                ).collect().count
            }
            // Deleted between the first read and the lock: nothing was changed that matters.
            return updated == 1
        }
    }

    public func deleteBYOKKey(id: String, organizationID: String) async throws -> Bool {
        try await read { connection in
            try await connection.query(
                "DELETE FROM byok_keys WHERE id = \(id) AND organization_id = \(organizationID) RETURNING id", logger: logger
            ).collect().count == 1
        }
    }

    public func allBYOKKeys() async throws -> [BYOKKeyRecord] {
        try await byokKeys("SELECT \(unescaped: Self.byokColumns) FROM byok_keys ORDER BY organization_id COLLATE \"C\", created_at")
    }

    public func replaceBYOKCiphertext(id: String, from old: [UInt8], to new: [UInt8], masterKeyID: String) async throws -> Bool {
        try await read { connection in
            try await connection.query(
                """
                UPDATE byok_keys SET ciphertext = \(ByteBuffer(bytes: new)), master_key_id = \(masterKeyID)
                WHERE id = \(id) AND ciphertext = \(ByteBuffer(bytes: old)) RETURNING id
                """, logger: logger
            ).collect().count == 1
        }
    }

    /// Serialises status changes of one organisation's keys for one provider (see the header), then locks
    /// those keys in id order.
    private static func lockBYOKProvider(
        _ connection: PostgresConnection, organizationID: String, provider: String, logger: Logger
    ) async throws {
        let lockName = "keygate.byok_keys:\(organizationID):\(provider)"
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockName), 0))", logger: logger).collect()
        _ = try await connection.query(
            """
            SELECT id FROM byok_keys WHERE organization_id = \(organizationID) AND provider = \(provider)
            ORDER BY id COLLATE "C" FOR UPDATE
            """, logger: logger
        ).collect()
    }

    static let byokColumns = """
        id, organization_id, provider, ciphertext, master_key_id, preview, status, created_at, last_used_at, last_validated_at,
        last_validation_result
        """

    private func byokKeys(_ query: PostgresQuery) async throws -> [BYOKKeyRecord] {
        try await read { connection in
            try await connection.query(query, logger: logger).collect().map { try Self.byokKey(from: $0) }
        }
    }

    /// A key from a row of `byokColumns`.
    static func byokKey(from row: PostgresRow) throws -> BYOKKeyRecord {
        let r = row.makeRandomAccess()
        let ciphertext = try r[3].decode(ByteBuffer.self)
        return BYOKKeyRecord(
            id: try r[0].decode(String.self), organizationID: try r[1].decode(String.self), provider: try r[2].decode(String.self),
            ciphertext: Array(ciphertext.readableBytesView), masterKeyID: try r[4].decode(String.self),
            preview: try r[5].decode(String.self), status: BYOKKeyStatus(rawValue: try r[6].decode(String.self)) ?? .inactive,
            createdAt: try r[7].decode(Int64.self), lastUsedAt: try r[8].decode(Int64?.self),
            lastValidatedAt: try r[9].decode(Int64?.self), lastValidationResult: try r[10].decode(String?.self))
    }
}
