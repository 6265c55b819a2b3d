/// Organisations and their settings.
public protocol OrganizationStore: Sendable {
    /// Throws `StoreError.invalid` for a slug `Organization.isValidSlug` refuses, `.duplicate` for one in use.
    /// With `trial`, its credits are granted (a `trial_grant` entry) in the same transaction: an organisation never
    /// exists without the trial credits it was created with, and a failed grant leaves no organisation.
    func createOrganization(slug: String, name: String, trial: TrialGrant?) async throws -> Organization
    func organization(slug: String) async throws -> Organization?
    func organizations() async throws -> [Organization]
    func organizationSettings(organizationID: String) async throws -> OrganizationSettings
    func setOrganizationSettings(_ settings: OrganizationSettings, organizationID: String) async throws
}

extension OrganizationStore {
    /// An organisation with no trial credits.
    public func createOrganization(slug: String, name: String) async throws -> Organization {
        try await createOrganization(slug: slug, name: name, trial: nil)
    }
}
