import Synchronization
import Testing
@testable import KeygateServer

/// The expiring cache behind the API-key and BYOK-key caches, on a clock moved by hand.
@Suite struct ExpiringCacheTests {
    /// Monotonic nanoseconds that only move when the test says so.
    final class ManualClock: Sendable {
        private let nanos = Atomic<UInt64>(1_000_000_000)
        func advance(_ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            nanos.add(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000), ordering: .relaxed)
        }
        var now: UInt64 { nanos.load(ordering: .relaxed) }
    }

    /// Counts the fetches (the database reads a real cache would make).
    final class Source: Sendable {
        private let fetches = Atomic<Int>(0)
        var count: Int { fetches.load(ordering: .relaxed) }
        func fetch(_ value: String?) -> String? {
            fetches.add(1, ordering: .relaxed)
            return value
        }
    }

    @Test func aSubSecondTTLServesTheValueUntilItExpiresThenFetchesAgain() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, String>(ttl: .milliseconds(200), now: { clock.now })
        let source = Source()

        #expect(try await cache.value(for: "k") { source.fetch("v1") } == "v1")
        #expect(source.count == 1)
        clock.advance(.milliseconds(199))
        #expect(try await cache.value(for: "k") { source.fetch("v2") } == "v1")
        #expect(source.count == 1)
        clock.advance(.milliseconds(1))
        #expect(try await cache.value(for: "k") { source.fetch("v2") } == "v2")
        #expect(source.count == 2)
    }

    @Test func nilIsNotKeptButAnOptionalValueKeepsNone() async throws {
        let clock = ManualClock()
        let source = Source()
        let plain = ExpiringCache<String, String>(ttl: .seconds(1), now: { clock.now })
        #expect(try await plain.value(for: "k") { source.fetch(nil) } == nil)
        #expect(try await plain.value(for: "k") { source.fetch("new") } == "new")
        #expect(source.count == 2)

        let remembering = ExpiringCache<String, String?>(ttl: .seconds(1), now: { clock.now })
        #expect(try await remembering.value(for: "k") { .some(source.fetch(nil)) } == .some(nil))
        #expect(try await remembering.value(for: "k") { .some(source.fetch("new")) } == .some(nil))
        #expect(source.count == 3)
    }

    @Test func removedEntriesAreFetchedAgainAtOnce() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, String>(ttl: .seconds(2), now: { clock.now })
        #expect(try await cache.value(for: "a") { "a1" } == "a1")
        #expect(try await cache.value(for: "b") { "b1" } == "b1")
        cache.remove("a")
        #expect(try await cache.value(for: "a") { "a2" } == "a2")
        #expect(try await cache.value(for: "b") { "b2" } == "b1")
        cache.removeAll()
        #expect(try await cache.value(for: "b") { "b3" } == "b3")
    }

    @Test func theKeyCachesKeepTheirTTLs() {
        #expect(APIKeyCache.ttl == .seconds(1))
        #expect(BYOKKeyCache.ttl == .seconds(2))
    }
}
