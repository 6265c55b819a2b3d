import KeygateCore
import KeygateStore
import KeygateVault

/// Operator actions shared by the CLI and (later) the admin API. Organisations are named by slug; an unknown
/// slug is `StoreError.notFound`.
public struct AdminService: Sendable {
    public let store: any Store

    public init(store: any Store) { self.store = store }

    // MARK: Organisations

    /// Creates an organisation with the trial credits of the trial policy (if any), expiring after its days, in
    /// one transaction: no organisation without its trial credits.
    public func createOrganization(slug: String, name: String?, trial policy: CreditPolicy = CreditPolicy()) async throws -> Organization {
        let trial =
            policy.trialCredits.value > 0
            ? TrialGrant(credits: policy.trialCredits, expiresAt: WallClock.nowMs() + policy.trialDays * 86_400_000) : nil
        return try await store.createOrganization(slug: slug, name: name ?? slug, trial: trial)
    }

    public func organizations() async throws -> [Organization] {
        try await store.organizations()
    }

    public func settings(organizationSlug: String) async throws -> OrganizationSettings {
        try await store.organizationSettings(organizationID: try await organization(organizationSlug).id)
    }

    /// Changes the settings given (nil leaves one as it is) and returns them all.
    public func updateSettings(organizationSlug: String, byokFallbackOnRateLimit: Bool?) async throws -> OrganizationSettings {
        let org = try await organization(organizationSlug)
        var settings = try await store.organizationSettings(organizationID: org.id)
        if let byokFallbackOnRateLimit {
            settings.byokFallbackOnRateLimit = byokFallbackOnRateLimit
            try await store.setOrganizationSettings(settings, organizationID: org.id)
        }
        return settings
    }

    // MARK: API keys

    /// Creates a key and returns it with its plaintext, which exists nowhere else and is never stored.
    public func createAPIKey(organizationSlug: String, name: String?, isAdmin: Bool) async throws -> (record: APIKeyRecord, plaintext: String) {
        guard let org = try await store.organization(slug: organizationSlug) else {
            throw StoreError.notFound("organisation '\(organizationSlug)' (create it with: keygate org create \(organizationSlug))")
        }
        let key = APIKeyGenerator.generate()
        let record = try await store.createAPIKey(
            NewAPIKey(
                organizationID: org.id, name: name ?? "default", lookupID: key.lookupID, hash: key.hash,
                preview: key.preview, isAdmin: isAdmin))
        return (record, key.plaintext)
    }

    public func revokeAPIKey(organizationSlug: String, keyID: String) async throws {
        let org = try await organization(organizationSlug)
        guard try await store.revokeAPIKey(id: keyID, organizationID: org.id) else {
            throw StoreError.notFound("active API key '\(keyID)' in organisation '\(organizationSlug)'")
        }
    }

    public func apiKeys(organizationSlug: String) async throws -> [APIKeyRecord] {
        try await store.apiKeys(organizationID: try await organization(organizationSlug).id)
    }

    // MARK: Credits

    /// Adds a ledger entry of `amount` (`grant` or `purchase`: positive; `adjustment`: either sign) and
    /// returns the balance after it.
    public func addCredits(organizationSlug: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?) async throws -> CreditBalance {
        let org = try await organization(organizationSlug)
        return try await store.addCredits(organizationID: org.id, amount: amount, kind: kind, reason: reason, trialExpiresAt: nil)
    }

    public func balance(organizationSlug: String) async throws -> CreditBalance {
        try await store.balance(organizationID: try await organization(organizationSlug).id)
    }

    /// Every balance (or one organisation's) against the sum of its ledger entries; empty when all is well.
    public func verifyLedger(organizationSlug: String?) async throws -> [LedgerDiscrepancy] {
        var organizationID: String?
        if let organizationSlug { organizationID = try await organization(organizationSlug).id }
        return try await store.verifyLedger(organizationID: organizationID)
    }

    private func organization(_ slug: String) async throws -> Organization {
        guard let org = try await store.organization(slug: slug) else { throw StoreError.notFound("organisation '\(slug)'") }
        return org
    }
}
