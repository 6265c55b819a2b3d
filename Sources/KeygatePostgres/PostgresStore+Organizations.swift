import KeygateCore
import KeygateStore
import PostgresNIO

/// OrganizationStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func createOrganization(slug: String, name: String) async throws -> Organization {
        throw StoreError.unavailable("PostgresStore.createOrganization is not implemented yet")
    }

    public func organization(slug: String) async throws -> Organization? {
        throw StoreError.unavailable("PostgresStore.organization is not implemented yet")
    }

    public func organizations() async throws -> [Organization] {
        throw StoreError.unavailable("PostgresStore.organizations is not implemented yet")
    }

    public func organizationSettings(organizationID: String) async throws -> OrganizationSettings {
        throw StoreError.unavailable("PostgresStore.organizationSettings is not implemented yet")
    }

    public func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws {
        throw StoreError.unavailable("PostgresStore.setOrganizationSettings is not implemented yet")
    }
}
