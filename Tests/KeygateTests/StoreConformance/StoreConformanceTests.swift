import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// What every `Store` backend must do for organisations, API keys and usage records (the ledger's part:
/// `LedgerConformanceTests`). Each test runs once per backend in `StoreBackend.all`.
@Suite struct StoreConformanceTests {
    func withStore(_ backend: StoreBackend, _ body: (any Store) async throws -> Void) async throws {
        try await backend.open().use { database in
            let store = database.store
            try await store.migrate()
            try await store.migrate()  // idempotent
            try await body(store)
            try await store.close()
        }
    }

    @Test(arguments: StoreBackend.all)
    func organisationsHaveUniqueValidSlugs(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let org = try await store.createOrganization(slug: "acme-labs", name: "Acme Labs")
            #expect(try await store.organization(slug: "acme-labs") == org)
            await #expect(throws: StoreError.duplicate("organisation 'acme-labs'")) {
                try await store.createOrganization(slug: "acme-labs", name: "x")
            }
            for bad in ["A", "Acme", "-acme", "acme-", "ac me", "acme_labs", String(repeating: "a", count: 64)] {
                await #expect(throws: StoreError.self) { try await store.createOrganization(slug: bad, name: "x") }
            }
            #expect(try await store.organizations().count == 1)
        }
    }

    @Test(arguments: StoreBackend.all)
    func apiKeysAreFoundByLookupIDAndRevokedOnce(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let admin = AdminService(store: store)
            _ = try await admin.createOrganization(slug: "acme", name: nil)
            let (record, plaintext) = try await admin.createAPIKey(organizationSlug: "acme", name: "ci", isAdmin: true)
            #expect(record.isAdmin)
            let found = try #require(try await store.apiKey(lookupID: record.lookupID))
            #expect(found.organization.slug == "acme")
            #expect(found.key.hash == record.hash)
            #expect(!found.key.isRevoked)
            #expect(!found.key.preview.contains(String(plaintext.dropFirst(16).prefix(30))))
            try await admin.revokeAPIKey(organizationSlug: "acme", keyID: record.id)
            #expect(try await store.apiKey(lookupID: record.lookupID)?.key.isRevoked == true)
            await #expect(throws: StoreError.self) { try await admin.revokeAPIKey(organizationSlug: "acme", keyID: record.id) }
            await #expect(throws: StoreError.self) { try await admin.createAPIKey(organizationSlug: "nobody", name: nil, isAdmin: false) }
        }
    }

    @Test(arguments: StoreBackend.all)
    func usageRecordsRoundTrip(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let admin = AdminService(store: store)
            let org = try await admin.createOrganization(slug: "acme", name: nil)
            let (key, _) = try await admin.createAPIKey(organizationSlug: "acme", name: nil, isAdmin: false)
            let record = UsageRecord(
                requestID: "req_1", organizationID: org.id, apiKeyID: key.id, model: "openai/gpt-5.6-luna", provider: "openai",
                byok: false, billing: .credits,
                usage: TokenUsage(inputTokens: 10, outputTokens: 5, cachedInputTokens: 2, reasoningTokens: 1, estimated: true),
                costUSD: PicoUSD(123_456), latencyMs: 42, timeToFirstTokenMs: 7, stream: true, status: 200,
                errorCode: nil, createdAt: 1_800_000_000_000)
            try await store.recordUsage(record)
            #expect(try await store.usageRecords(organizationID: org.id, limit: 10) == [record])
        }
    }
}
