import KeygateCore
import KeygateDashboard
import KeygateStore

/// The billing page's BYOK section runs on the service of the JSON API and the CLI.
extension BYOKService: BYOKKeyActions {
    /// Every provider of the catalog, in its order; structured credentials with the shape `BYOKCredential.parse` reads.
    public var byokProviders: [BYOKProviderChoice] {
        catalog.providers.map { provider in
            BYOKProviderChoice(id: provider.id, name: provider.name, jsonExample: Self.jsonExample(provider.credential))
        }
    }

    static func jsonExample(_ shape: CredentialShape) -> String? {
        switch shape {
        case .apiKey: nil
        case .aws: #"{"accessKeyId": "AKIA…", "secretAccessKey": "…", "region": "us-east-1"}"#
        case .azure:
            #"{"endpoint": "https://my-resource.openai.azure.com", "apiKey": "…", "deploymentName": "my-gpt-deployment", "apiVersion": "2024-10-21"}"#
        case .azureResponses: #"{"endpoint": "https://my-resource.openai.azure.com", "apiKey": "…", "apiVersion": "2025-04-01-preview"}"#
        }
    }

    public func byokKeys(organization: Organization) async throws -> [BYOKKeyRecord] {
        try await list(organizationSlug: organization.slug)
    }

    public func addBYOKKey(organization: Organization, provider: String, secret: JSONValue, validate: Bool) async throws -> BYOKKeyRecord {
        try await add(organizationSlug: organization.slug, provider: provider, secret: secret, validate: validate)
    }

    public func setBYOKKeyActive(organization: Organization, keyID: String, active: Bool) async throws -> BYOKKeyRecord {
        try await setActive(organizationSlug: organization.slug, keyID: keyID, active: active)
    }

    public func removeBYOKKey(organization: Organization, keyID: String) async throws {
        try await remove(organizationSlug: organization.slug, keyID: keyID)
    }
}
