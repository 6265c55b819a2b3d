import KeygateCore
import KeygateStore
import PostgresNIO

/// Organisations and their settings on PostgreSQL. A duplicate slug is the unique index's violation, so two
/// replicas creating the same organisation at once end with one and a clear `.duplicate`.
extension PostgresStore {
    public func createOrganization(slug: String, name: String) async throws -> Organization {
        guard Organization.isValidSlug(slug) else {
            throw StoreError.invalid(
                "invalid organisation slug '\(slug)': use 2–63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
        }
        let org = Organization(id: Identifiers.make("org"), slug: slug, name: name, createdAt: WallClock.nowMs())
        do {
            try await transaction { connection in
                _ = try await connection.query(
                    "INSERT INTO organizations (id, slug, name, created_at) VALUES (\(org.id), \(org.slug), \(org.name), \(org.createdAt))",
                    logger: self.logger
                ).collect()
            }
        } catch StoreError.duplicate {
            throw StoreError.duplicate("organisation '\(slug)'")
        }
        return org
    }

    public func organization(slug: String) async throws -> Organization? {
        try await read { connection in
            let rows = try await connection.query(
                "SELECT id, slug, name, created_at FROM organizations WHERE slug = \(slug)", logger: self.logger)
            for try await (id, slug, name, createdAt) in rows.decode((String, String, String, Int64).self) {
                return Organization(id: id, slug: slug, name: name, createdAt: createdAt)
            }
            return nil
        }
    }

    public func organizations() async throws -> [Organization] {
        try await read { connection in
            var out: [Organization] = []
            let rows = try await connection.query("SELECT id, slug, name, created_at FROM organizations ORDER BY slug", logger: self.logger)
            for try await (id, slug, name, createdAt) in rows.decode((String, String, String, Int64).self) {
                out.append(Organization(id: id, slug: slug, name: name, createdAt: createdAt))
            }
            return out
        }
    }

    public func organizationSettings(organizationID: String) async throws -> OrganizationSettings {
        try await read { connection in
            let rows = try await connection.query(
                "SELECT byok_fallback_on_rate_limit FROM organizations WHERE id = \(organizationID)", logger: self.logger)
            for try await fallback in rows.decode(Bool.self) {
                return OrganizationSettings(byokFallbackOnRateLimit: fallback)
            }
            return OrganizationSettings()
        }
    }

    public func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws {
        try await transaction { connection in
            _ = try await connection.query(
                "UPDATE organizations SET byok_fallback_on_rate_limit = \(settings.byokFallbackOnRateLimit) WHERE id = \(organizationID)",
                logger: self.logger
            ).collect()
        }
    }
}
