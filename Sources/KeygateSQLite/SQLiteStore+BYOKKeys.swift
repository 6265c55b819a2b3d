import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// BYOK keys on SQLite, sealed.
extension SQLiteStore {
    public func addBYOKKey(_ key: BYOKKeyRecord) async throws {
        try await pool.write { db in
            if key.status == .active {
                try db.execute(
                    sql: "UPDATE byok_keys SET status = 'inactive' WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid')",
                    arguments: [key.organizationID, key.provider])
            }
            try db.execute(
                sql: """
                    INSERT INTO byok_keys (id, organization_id, provider, ciphertext, master_key_id, preview, status, created_at,
                      last_used_at, last_validated_at, last_validation_result)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.organizationID, key.provider, Data(key.ciphertext), key.masterKeyID, key.preview,
                    key.status.rawValue, key.createdAt, key.lastUsedAt, key.lastValidatedAt, key.lastValidationResult,
                ])
        }
    }

    public func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM byok_keys WHERE organization_id = ? ORDER BY created_at, id",
                arguments: [organizationID]
            ).map { Self.byokKey(from: $0) }
        }
    }

    public func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM byok_keys WHERE id = ? AND organization_id = ?",
                arguments: [id, organizationID]
            ).map { Self.byokKey(from: $0) }
        }
    }

    public func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord? {
        try activeBYOKKeyBlocking(organizationID: organizationID, provider: provider)
    }

    /// On the request path: a blocking read with a cached statement, like the API key lookup.
    private func activeBYOKKeyBlocking(organizationID: String, provider: String) throws -> BYOKKeyRecord? {
        try pool.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT * FROM byok_keys WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid')
                    ORDER BY status = 'active' DESC LIMIT 1
                    """)
            return try Row.fetchOne(statement, arguments: [organizationID, provider]).map { Self.byokKey(from: $0) }
        }
    }

    public func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool {
        try await pool.write { db in
            guard
                let provider = try String.fetchOne(
                    db, sql: "SELECT provider FROM byok_keys WHERE id = ? AND organization_id = ?",
                    arguments: [id, organizationID])
            else { return false }
            if status == .active {
                try db.execute(
                    sql:
                        "UPDATE byok_keys SET status = 'inactive' WHERE organization_id = ? AND provider = ? AND status IN ('active', 'invalid') AND id != ?",
                    arguments: [organizationID, provider, id])
            }
            if let validationResult {
                try db.execute(
                    sql: "UPDATE byok_keys SET status = ?, last_validated_at = ?, last_validation_result = ? WHERE id = ?",
                    arguments: [status.rawValue, WallClock.nowMs(), validationResult, id])
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
            try db.execute(
                sql: "UPDATE byok_keys SET ciphertext = ?, master_key_id = ? WHERE id = ? AND ciphertext = ?",
                arguments: [Data(new), masterKeyID, id, Data(old)])
            return db.changesCount == 1
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
