import KeygateCore
import KeygateStore
import KeygateVault

/// An organisation's key for one provider, decrypted, as a request uses it.
struct UsableBYOKKey: Sendable {
    let id: String
    let provider: String
    let preview: String
    let status: BYOKKeyStatus
    let secret: String
}

/// The request path's view of BYOK keys: one database read and one decryption per organisation and
/// provider per `ttl`, including the answer "no key" (most requests have none).
///
/// Invariants: decrypted secrets stay at most `ttl` (2 s) in memory after their last lookup, then are
/// dropped; a change made through this process (add, deactivate, remove, rotate, a provider refusing the key)
/// invalidates at once; a change made by another process sharing the database (the CLI, another replica)
/// is seen within `ttl`.
final class BYOKKeyCache: Sendable {
    static let ttl: Duration = .seconds(2)

    private let store: any BYOKKeyStore
    private let keyring: MasterKeyring
    /// By organisation id and provider id; "no key" (`nil`) is kept too.
    private let cache = ExpiringCache<String, UsableBYOKKey?>(ttl: BYOKKeyCache.ttl)

    init(store: any BYOKKeyStore, keyring: MasterKeyring) {
        self.store = store
        self.keyring = keyring
    }

    /// The key to use for this organisation and provider, or nil (then the platform pays).
    /// A key that no longer decrypts is a 500-class error, never garbage sent to a provider.
    func key(organizationID: String, provider: String) async throws -> UsableBYOKKey? {
        let found = try await cache.value(for: Self.cacheKey(organizationID, provider)) { () async throws -> UsableBYOKKey?? in
            try await load(organizationID: organizationID, provider: provider)
        }
        return found ?? nil
    }

    private func load(organizationID: String, provider: String) async throws -> UsableBYOKKey? {
        guard let record = try await store.activeBYOKKey(organizationID: organizationID, provider: provider) else { return nil }
        let sealed = SealedSecret(combined: record.ciphertext, masterKeyID: record.masterKeyID)
        let binding = SecretBinding(organizationID: organizationID, provider: provider, keyID: record.id)
        let secret: String
        do {
            secret = try SecretVault.open(sealed, binding: binding, keyring: keyring)
        } catch {
            throw GatewayError.byokKeyUnreadable(.undecryptable(provider: provider, preview: record.preview))
        }
        return UsableBYOKKey(id: record.id, provider: provider, preview: record.preview, status: record.status, secret: secret)
    }

    private static func cacheKey(_ organizationID: String, _ provider: String) -> String {
        organizationID + "\u{0}" + provider
    }

    func invalidate(organizationID: String, provider: String) {
        cache.remove(Self.cacheKey(organizationID, provider))
    }

    func invalidateAll() {
        cache.removeAll()
    }
}
