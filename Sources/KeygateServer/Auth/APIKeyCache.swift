import KeygateStore
import NIOCore
import Synchronization

/// The request path's view of Keygate API keys: one database read per key per `ttl` instead of one per
/// request. Only the stored record is kept (hash, revocation, organisation), never a presented secret; every
/// request still has its secret hashed and compared in constant time against it.
///
/// Invariant: a key revoked in the database (by the CLI, another replica) stops authenticating within `ttl`
/// (1 s) in every process. Unknown lookup ids are not cached, so a new key works at once.
final class APIKeyCache: Sendable {
    static let ttl: Duration = .seconds(1)
    private static let ttlNanos = UInt64(ttl.components.seconds) * 1_000_000_000

    private struct Entry {
        let key: AuthenticatedKey
        let expiresAt: UInt64
    }

    private let store: any APIKeyStore
    private let state = Mutex<(entries: [String: Entry], nextSweep: UInt64)>(([:], 0))

    init(store: any APIKeyStore) {
        self.store = store
    }

    /// The stored key with this lookup id (revoked or not), or nil if there is none.
    func key(lookupID: String) async throws -> AuthenticatedKey? {
        let now = NIODeadline.now().uptimeNanoseconds
        if let cached = state.withLock({ state -> AuthenticatedKey? in
            if now >= state.nextSweep {
                state.entries = state.entries.filter { $0.value.expiresAt > now }
                state.nextSweep = now + Self.ttlNanos
            }
            guard let entry = state.entries[lookupID], entry.expiresAt > now else { return nil }
            return entry.key
        }) {
            return cached
        }
        guard let found = try await store.apiKey(lookupID: lookupID) else { return nil }
        state.withLock { $0.entries[lookupID] = Entry(key: found, expiresAt: now + Self.ttlNanos) }
        return found
    }
}
