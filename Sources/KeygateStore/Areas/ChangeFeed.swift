/// Changes that caches in other processes must see at once (SPEC §10: a revoked API key, a deactivated BYOK
/// key or a setting changed on one replica applies on every replica within 100 ms). A backend that can tell
/// other processes (PostgreSQL: LISTEN/NOTIFY) delivers every committed change, from any process, to
/// `followChanges`; one that cannot (SQLite, one machine) delivers none, and the caches' short TTLs bound
/// staleness as before. Either way the TTLs stay: they are the bound when a notification is lost.
public protocol ChangeFeed: Sendable {
    /// Calls `handler` with each change committed from now on until the calling task is cancelled (then it
    /// returns), or throws when the feed breaks (the caller waits a moment and follows again).
    func followChanges(_ handler: @escaping @Sendable (StoreChange) -> Void) async throws
}

/// What changed, as much as a cache needs to drop the right entry.
public enum StoreChange: Sendable, Hashable {
    /// A Keygate API key's record changed (revoked): by its lookup id.
    case apiKey(lookupID: String)
    /// An organisation's keys for a provider changed (added, status, removed, re-encrypted).
    case byokKeys(organizationID: String, provider: String)
    /// An organisation or its settings changed.
    case organization(id: String)

    /// The NOTIFY payload form, `kind:part[:part]`, and back.
    public init?(payload: String) {
        let parts = payload.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("api_key", 2): self = .apiKey(lookupID: parts[1])
        case ("byok", 3): self = .byokKeys(organizationID: parts[1], provider: parts[2])
        case ("organization", 2): self = .organization(id: parts[1])
        default: return nil
        }
    }
}
