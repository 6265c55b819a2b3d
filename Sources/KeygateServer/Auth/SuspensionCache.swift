import KeygateStore

/// The request path's view of organisations' suspension: one database read per organisation per `ttl`
/// (1 s), like `APIKeyCache`, and dropped at once where the store announces changes (`ChangeFollower`,
/// PostgreSQL). "Not suspended", the common answer, is cached too.
final class SuspensionCache: Sendable {
    static let ttl: Duration = .seconds(1)

    private let store: any OperatorStore
    private let cache = ExpiringCache<String, OrganizationSuspension?>(ttl: SuspensionCache.ttl)

    init(store: any OperatorStore) {
        self.store = store
    }

    /// The organisation's suspension, or nil when it may make calls.
    func suspension(organizationID: String) async throws -> OrganizationSuspension? {
        try await cache.value(for: organizationID) { .some(try await store.suspension(organizationID: organizationID)) } ?? nil
    }

    /// Drops one organisation's entry (its change was announced, or this process made it).
    func invalidate(organizationID: String) {
        cache.remove(organizationID)
    }
}
