/// Keygate's own API keys. They arrive hashed: the store never sees a plaintext key.
public protocol APIKeyStore: Sendable {
    func createAPIKey(_ key: NewAPIKey) async throws -> APIKeyRecord
    /// The key with this lookup id, with its organisation, revoked or not.
    func apiKey(lookupID: String) async throws -> AuthenticatedKey?
    func apiKeys(organizationID: String) async throws -> [APIKeyRecord]
    /// Returns false if no such active key exists in that organisation.
    func revokeAPIKey(id: String, organizationID: String) async throws -> Bool
}
