/// Organisations and their settings.
public protocol OrganizationStore: Sendable {
    /// Throws `StoreError.invalid` for a slug `Organization.isValidSlug` refuses, `.duplicate` for one in use.
    func createOrganization(slug: String, name: String) async throws -> Organization
    func organization(slug: String) async throws -> Organization?
    func organizations() async throws -> [Organization]
    func organizationSettings(organizationID: String) async throws -> OrganizationSettings
    func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws
}
