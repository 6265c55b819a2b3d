import KeygateCore
import KeygateStore
import KeygateVault

/// Operator actions shared by the CLI and (later) the admin API.
public struct AdminService: Sendable {
    public let store: any Store

    public init(store: any Store) { self.store = store }

    /// Creates an organisation and grants the trial credits of the trial policy (if any), expiring after its days.
    public func createOrganization(slug: String, name: String?, trial policy: CreditPolicy = CreditPolicy()) async throws -> Organization {
        let org = try await store.createOrganization(slug: slug, name: name ?? slug)
        if policy.trialCredits.value > 0 {
            try await store.addCredits(organizationID: org.id, amount: policy.trialCredits, kind: .trialGrant, reason: "trial credits",
                                       trialExpiresAt: WallClock.nowMs() + policy.trialDays * 86_400_000)
        }
        return org
    }

    /// Creates a key and returns it with its plaintext, which exists nowhere else and is never stored.
    public func createAPIKey(organizationSlug: String, name: String?, isAdmin: Bool) async throws -> (record: APIKeyRecord, plaintext: String) {
        guard let org = try await store.organization(slug: organizationSlug) else {
            throw StoreError.notFound("organisation '\(organizationSlug)' (create it with: keygate org create \(organizationSlug))")
        }
        let key = APIKeyGenerator.generate()
        let record = try await store.createAPIKey(NewAPIKey(
            organizationID: org.id, name: name ?? "default", lookupID: key.lookupID, hash: key.hash,
            preview: key.preview, isAdmin: isAdmin))
        return (record, key.plaintext)
    }

    public func revokeAPIKey(organizationSlug: String, keyID: String) async throws {
        guard let org = try await store.organization(slug: organizationSlug) else {
            throw StoreError.notFound("organisation '\(organizationSlug)'")
        }
        guard try await store.revokeAPIKey(id: keyID, organizationID: org.id) else {
            throw StoreError.notFound("active API key '\(keyID)' in organisation '\(organizationSlug)'")
        }
    }

    public func apiKeys(organizationSlug: String) async throws -> [APIKeyRecord] {
        guard let org = try await store.organization(slug: organizationSlug) else {
            throw StoreError.notFound("organisation '\(organizationSlug)'")
        }
        return try await store.apiKeys(organizationID: org.id)
    }
}
