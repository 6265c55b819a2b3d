import KeygateStore

/// What the settings page needs of Keygate API keys and the organisation's settings. KeygateServer's
/// `AdminService` conforms (the CLI's and the `/api/orgs/{slug}/api-keys` routes' service); its refusals are
/// `GatewayError`s shown next to the form.
public protocol SettingsActions: Sendable {
    func apiKeys(organization: Organization) async throws -> [APIKeyRecord]
    /// The new key's record and its plaintext, which exists nowhere else: the page shows it once.
    func createAPIKey(organization: Organization, name: String?, isAdmin: Bool) async throws -> (record: APIKeyRecord, plaintext: String)
    func revokeAPIKey(organization: Organization, keyID: String) async throws
    func settings(organization: Organization) async throws -> OrganizationSettings
    func setBYOKFallbackOnRateLimit(_ enabled: Bool, organization: Organization) async throws -> OrganizationSettings
}
