import KeygateCore
import KeygateStore
import PostgresNIO

/// APIKeyStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func createAPIKey(_ key: NewAPIKey) async throws -> APIKeyRecord {
        throw StoreError.unavailable("PostgresStore.createAPIKey is not implemented yet")
    }

    public func apiKey(lookupID: String) async throws -> AuthenticatedKey? {
        throw StoreError.unavailable("PostgresStore.apiKey is not implemented yet")
    }

    public func apiKeys(organizationID: String) async throws -> [APIKeyRecord] {
        throw StoreError.unavailable("PostgresStore.apiKeys is not implemented yet")
    }

    public func revokeAPIKey(id: String, organizationID: String) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.revokeAPIKey is not implemented yet")
    }
}
