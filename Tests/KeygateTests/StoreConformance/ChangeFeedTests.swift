import Foundation
import KeygateCore
import KeygatePostgres
import KeygateServer
import KeygateStore
import Synchronization
import Testing

/// PostgreSQL's change feed (LISTEN/NOTIFY through triggers): a change committed by one process reaches
/// another process's follower at once, whatever path wrote it; the hot path's `last_used_at` does not.
/// SQLite announces nothing (one machine: the caches' TTLs bound staleness), so this runs on PostgreSQL only.
@Suite(.enabled(if: StoreBackend.postgres != nil)) struct ChangeFeedTests {
    @Test func changesCommittedByOneProcessReachAnotherAtOnce() async throws {
        try await StoreBackend.postgres!.open().use { database in
            let writer = database.store
            try await writer.migrate()
            let follower = try await database.openAnother()
            let heard = Heard()
            let following = Task { try await follower.followChanges { change in heard.changes.withLock { $0.append(change) } } }
            func waitFor(_ change: StoreChange) async throws -> Duration {
                let start = ContinuousClock.now
                while !heard.changes.withLock({ $0.contains(change) }) {
                    guard ContinuousClock.now - start < .seconds(5) else { throw StoreError.unavailable("never heard \(change)") }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return ContinuousClock.now - start
            }
            // The listener is up once it hears anything: poke until a first change arrives.
            let admin = AdminService(store: writer)
            let org = try await admin.createOrganization(slug: "acme", name: "Acme")
            var settings = OrganizationSettings(byokFallbackOnRateLimit: true)
            for _ in 0..<100 where heard.changes.withLock({ $0.isEmpty }) {
                settings.byokFallbackOnRateLimit.toggle()
                try await writer.setOrganizationSettings(settings, organizationID: org.id)
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = try await waitFor(.organization(id: org.id))

            let (key, _) = try await admin.createAPIKey(organizationSlug: "acme", name: "ci", isAdmin: false)
            #expect(try await writer.revokeAPIKey(id: key.id, organizationID: org.id))
            let revokedAfter = try await waitFor(.apiKey(lookupID: key.lookupID))
            // Delivery, not speed, is what a test can assert on a loaded machine: here it takes a few ms, and the
            // 2 s only keeps a starved CI run from failing on time alone.
            #expect(revokedAfter < .seconds(2), "heard a revocation after \(revokedAfter)")

            let byok = BYOKKeyRecord(
                id: "byok_1", organizationID: org.id, provider: "openai", ciphertext: [1, 2, 3], masterKeyID: "mk", preview: "sk-…1234",
                status: .active, createdAt: 1, lastValidatedAt: nil, lastValidationResult: nil)
            try await writer.addBYOKKey(byok)
            _ = try await waitFor(.byokKeys(organizationID: org.id, provider: "openai"))
            heard.changes.withLock { $0.removeAll() }
            // A BYOK request's usage record moves the key's last use: that must not wake every replica's cache.
            let record = UsageRecord(
                requestID: "req_1", organizationID: org.id, apiKeyID: key.id, model: "openai/a", provider: "openai", byok: true, billing: .byok,
                usage: TokenUsage(inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0, estimated: false),
                costUSD: PicoUSD(1), latencyMs: 1, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil, createdAt: 2,
                byokKeyID: "byok_1")
            try await writer.recordUsage(record)
            #expect(try await writer.setBYOKKeyStatus(id: "byok_1", organizationID: org.id, status: .inactive, validationResult: nil))
            _ = try await waitFor(.byokKeys(organizationID: org.id, provider: "openai"))
            #expect(heard.changes.withLock { $0 } == [.byokKeys(organizationID: org.id, provider: "openai")], "only the status change was announced")
            // Forget what was heard before the change, never after it: its notification may already be in.
            heard.changes.withLock { $0.removeAll() }
            #expect(try await writer.deleteBYOKKey(id: "byok_1", organizationID: org.id))
            _ = try await waitFor(.byokKeys(organizationID: org.id, provider: "openai"))

            following.cancel()
            try await following.value  // a cancelled follower returns instead of throwing
            try await follower.close()
            try await writer.close()
        }
    }

    /// What the follower heard, shared with its task.
    final class Heard: Sendable {
        let changes = Mutex<[StoreChange]>([])
    }

    @Test func payloadsReadBack() {
        #expect(StoreChange(payload: "api_key:abc") == .apiKey(lookupID: "abc"))
        #expect(StoreChange(payload: "byok:org_1:azure-responses") == .byokKeys(organizationID: "org_1", provider: "azure-responses"))
        #expect(StoreChange(payload: "organization:org_1") == .organization(id: "org_1"))
        #expect(StoreChange(payload: "nonsense") == nil)
        #expect(StoreChange(payload: "byok:org_1") == nil)
    }
}
