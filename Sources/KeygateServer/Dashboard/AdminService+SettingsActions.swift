import KeygateCore
import KeygateDashboard
import KeygateStore

/// The settings page runs on the operator's service (the CLI's): one implementation of each rule. Its
/// `StoreError.notFound` becomes a `GatewayError` the page shows in words.
extension AdminService: SettingsActions {
    public func apiKeys(organization: Organization) async throws -> [APIKeyRecord] {
        try await store.apiKeys(organizationID: organization.id)
    }

    public func createAPIKey(organization: Organization, name: String?, isAdmin: Bool) async throws -> (record: APIKeyRecord, plaintext: String) {
        try await createAPIKey(organizationSlug: organization.slug, name: name, isAdmin: isAdmin)
    }

    public func revokeAPIKey(organization: Organization, keyID: String) async throws {
        do {
            try await revokeAPIKey(organizationSlug: organization.slug, keyID: keyID)
        } catch StoreError.notFound {
            throw GatewayError.apiKeyNotFound(keyID)
        }
    }

    public func settings(organization: Organization) async throws -> OrganizationSettings {
        try await store.organizationSettings(organizationID: organization.id)
    }

    public func setBYOKFallbackOnRateLimit(_ enabled: Bool, organization: Organization) async throws -> OrganizationSettings {
        try await updateSettings(organizationSlug: organization.slug, byokFallbackOnRateLimit: enabled)
    }
}
