import KeygateStore

/// The request path's view of Keygate API keys: one database read per key per `ttl` instead of one per
/// request. Only the stored record is kept (hash, revocation, organisation), never a presented secret; every
/// request still has its secret hashed and compared in constant time against it.
///
/// Invariant: a key revoked in the database (by the CLI, another replica) stops authenticating within `ttl`
/// (1 s) in every process, and at once where the store announces changes (`ChangeFollower`, PostgreSQL). Unknown lookup ids are not cached, so a new key works at once.
final class APIKeyCache: Sendable {
    static let ttl: Duration = .seconds(1)

    private let store: any APIKeyStore
    private let cache = ExpiringCache<String, AuthenticatedKey>(ttl: APIKeyCache.ttl)

    init(store: any APIKeyStore) {
        self.store = store
    }

    /// The stored key with this lookup id (revoked or not), or nil if there is none.
    func key(lookupID: String) async throws -> AuthenticatedKey? {
        try await cache.value(for: lookupID) { try await store.apiKey(lookupID: lookupID) }
    }

    /// Drops one key's record (its change was announced by the store's change feed).
    func invalidate(lookupID: String) {
        cache.remove(lookupID)
    }
}
