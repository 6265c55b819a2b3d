import NIOCore
import Synchronization

/// A map whose entries live for `ttl` from the moment their value was looked up, for the request path's
/// caches of database reads (`APIKeyCache`, `BYOKKeyCache`). Expired entries are dropped in one sweep at most
/// once per `ttl`, on a lookup, so memory holds only what was used in about the last two `ttl`s.
///
/// Invariant: a value is never served more than `ttl` after its fetch started, so a change in the database
/// is seen within `ttl`. `ttl` keeps its sub-second part (0.2 s is 0.2 s, not 0).
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Monotonic nanoseconds (the default: `NIODeadline.now()`); tests pass a clock they move by hand.
    typealias Now = @Sendable () -> UInt64

    let ttl: Duration
    private let ttlNanos: UInt64
    private let now: Now

    private struct Entry {
        let value: Value
        let expiresAt: UInt64
    }

    private let state = Mutex<(entries: [Key: Entry], nextSweep: UInt64)>(([:], 0))

    init(ttl: Duration, now: @escaping Now = { NIODeadline.now().uptimeNanoseconds }) {
        precondition(ttl >= .zero, "a negative time to live")
        let (seconds, attoseconds) = ttl.components
        self.ttl = ttl
        self.ttlNanos = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        self.now = now
    }

    /// The value kept for `key`, or else what `fetch` answers, kept until `ttl` after the fetch started.
    /// A nil answer is not kept (a new key works at once); a cache that must remember "none" uses an optional
    /// `Value` and answers `.some(nil)`.
    func value(for key: Key, fetch: () async throws -> Value?) async throws -> Value? {
        let now = self.now()
        if let cached = state.withLock({ state -> Entry? in
            if now >= state.nextSweep {
                state.entries = state.entries.filter { $0.value.expiresAt > now }
                state.nextSweep = now + ttlNanos
            }
            guard let entry = state.entries[key], entry.expiresAt > now else { return nil }
            return entry
        }) {
            return cached.value
        }
        guard let fetched = try await fetch() else { return nil }
        let entry = Entry(value: fetched, expiresAt: now + ttlNanos)
        state.withLock { $0.entries[key] = entry }
        return fetched
    }

    func remove(_ key: Key) {
        _ = state.withLock { $0.entries.removeValue(forKey: key) }
    }

    func removeAll() {
        state.withLock { $0.entries.removeAll() }
    }
}
