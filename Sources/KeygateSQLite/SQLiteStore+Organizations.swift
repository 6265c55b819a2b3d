import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Organisations and their settings on SQLite.
extension SQLiteStore {
    public func createOrganization(slug: String, name: String, trial: TrialGrant?) async throws -> Organization {
        guard Organization.isValidSlug(slug) else {
            throw StoreError.invalid(
                "invalid organisation slug '\(slug)': use 2–63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
        }
        let org = Organization(id: Identifiers.make("org"), slug: slug, name: name, createdAt: WallClock.nowMs())
        do {
            try await writes.write { db in
                try db.execute(
                    sql: "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [org.id, org.slug, org.name, org.createdAt])
                if let trial {
                    _ = try Self.grant(
                        db, organizationID: org.id, amount: trial.credits, kind: .trialGrant, reason: "trial credits",
                        trialExpiresAt: trial.expiresAt, now: org.createdAt)
                }
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

    public func organizationSettings(organizationID: String) async throws -> OrganizationSettings {
        try await pool.read { db in
            let fallback =
                try Bool.fetchOne(
                    db, sql: "SELECT byok_fallback_on_rate_limit FROM organizations WHERE id = ?",
                    arguments: [organizationID]) ?? false
            return OrganizationSettings(byokFallbackOnRateLimit: fallback)
        }
    }

    public func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE organizations SET byok_fallback_on_rate_limit = ? WHERE id = ?",
                arguments: [settings.byokFallbackOnRateLimit, organizationID])
        }
    }
}
