import KeygateCore
import KeygateStore
import PostgresNIO

/// Organisations and their settings on PostgreSQL. A duplicate slug is found with `ON CONFLICT (slug) DO
/// NOTHING RETURNING`: no row back means the slug is taken, with no failed statement to report or roll back.
/// Text orderings use `COLLATE "C"` so that lists come out in SQLite's byte order whatever the database's locale.
extension PostgresStore {
    public func createOrganization(slug: String, name: String, trial: TrialGrant?) async throws -> Organization {
        guard Organization.isValidSlug(slug) else {
            throw StoreError.invalid(
                "invalid organisation slug '\(slug)': use 2–63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
        }
        let org = Organization(id: Identifiers.make("org"), slug: slug, name: name, createdAt: WallClock.nowMs())
        try await transaction { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO organizations (id, slug, name, created_at) VALUES (\(org.id), \(org.slug), \(org.name), \(org.createdAt))
                ON CONFLICT (slug) DO NOTHING RETURNING id
                """, logger: logger
            ).collect().count
            guard inserted == 1 else { throw StoreError.duplicate("organisation '\(slug)'") }
            if let trial {
                _ = try await Self.grant(
                    on: connection, organizationID: org.id, amount: trial.credits, kind: .trialGrant, reason: "trial credits",
                    trialExpiresAt: trial.expiresAt, now: org.createdAt, logger: logger)
            }
        }
        return org
    }

    public func organization(slug: String) async throws -> Organization? {
        try await read { connection in
            try await Self.organizations(
                connection.query("SELECT id, slug, name, created_at FROM organizations WHERE slug = \(slug)", logger: logger)
            ).first
        }
    }

    public func organizations() async throws -> [Organization] {
        try await read { connection in
            try await Self.organizations(
                connection.query("SELECT id, slug, name, created_at FROM organizations ORDER BY slug COLLATE \"C\"", logger: logger))
        }
    }

    /// Rows of `id, slug, name, created_at`.
    static func organizations(_ rows: PostgresRowSequence) async throws -> [Organization] {
        try await rows.collect().map { try organization($0.makeRandomAccess(), at: 0) }
    }

    /// An organisation from the four columns `id, slug, name, created_at` starting at `start` (joins put it after others).
    static func organization(_ row: PostgresRandomAccessRow, at start: Int) throws -> Organization {
        Organization(
            id: try row[start].decode(String.self), slug: try row[start + 1].decode(String.self),
            name: try row[start + 2].decode(String.self), createdAt: try row[start + 3].decode(Int64.self))
    }

    public func organizationSettings(organizationID: String) async throws -> OrganizationSettings {
        try await read { connection in
            let rows = try await connection.query(
                "SELECT byok_fallback_on_rate_limit FROM organizations WHERE id = \(organizationID)", logger: logger
            ).collect()
            return OrganizationSettings(byokFallbackOnRateLimit: try rows.first?.decode(Bool.self) ?? false)
        }
    }

    public func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws {
        try await read { connection in
            _ = try await connection.query(
                "UPDATE organizations SET byok_fallback_on_rate_limit = \(settings.byokFallbackOnRateLimit) WHERE id = \(organizationID)",
                logger: logger
            ).collect()
        }
    }
}
