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

    @Test(arguments: StoreBackend.all)
    func usageSummaryAddsUpByDayModelAndProvider(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let admin = AdminService(store: store)
            let org = try await admin.createOrganization(slug: "acme", name: nil)
            let other = try await admin.createOrganization(slug: "other", name: nil)
            let (key, _) = try await admin.createAPIKey(organizationSlug: "acme", name: nil, isAdmin: false)
            let (otherKey, _) = try await admin.createAPIKey(organizationSlug: "other", name: nil, isAdmin: false)
            let day: Int64 = 1_800_000_000_000 / UsageDay.lengthMs * UsageDay.lengthMs  // a UTC midnight
            func record(
                _ id: String, org: Organization = org, key: APIKeyRecord = key, model: String, provider: String, byok: Bool = false,
                credits: Int64, fee: Int64 = 0, at: Int64
            ) -> UsageRecord {
                UsageRecord(
                    requestID: id, organizationID: org.id, apiKeyID: key.id, model: model, provider: provider, byok: byok,
                    billing: byok ? .byok : .credits,
                    usage: TokenUsage(inputTokens: 10, outputTokens: 4, cachedInputTokens: 0, reasoningTokens: 0, estimated: false),
                    costUSD: PicoUSD(1_000), creditsCharged: MicroCredits(credits), feeCredits: MicroCredits(fee), latencyMs: 5,
                    timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil, createdAt: at)
            }
            try await store.recordUsage([
                record("req_old", model: "openai/a", provider: "openai", credits: 999, at: day - 1),  // before the window
                record("req_1", model: "openai/a", provider: "openai", credits: 100, fee: 5, at: day),
                record("req_2", model: "openai/a", provider: "openai", credits: 200, at: day + UsageDay.lengthMs - 1),
                record("req_3", model: "anthropic/b", provider: "anthropic", byok: true, credits: 0, fee: 7, at: day + UsageDay.lengthMs),
                record("req_4", model: "groq/c", provider: "groq", credits: 50, at: day + 2 * UsageDay.lengthMs + 10),
                record("req_5", model: "groq/d", provider: "groq", credits: 60, at: day + 2 * UsageDay.lengthMs + 20),
                record("req_x", org: other, key: otherKey, model: "openai/a", provider: "openai", credits: 5_000, at: day + 5),
            ])
            let summary = try await store.usageSummary(organizationID: org.id, since: day)
            #expect(
                summary.days == [
                    UsageDay(dayStart: day, requests: 2, byokRequests: 0, credits: MicroCredits(305)),
                    UsageDay(dayStart: day + UsageDay.lengthMs, requests: 1, byokRequests: 1, credits: MicroCredits(7)),
                    UsageDay(dayStart: day + 2 * UsageDay.lengthMs, requests: 2, byokRequests: 0, credits: MicroCredits(110)),
                ])
            #expect(summary.byModel.map(\.model) == ["openai/a", "groq/d", "groq/c", "anthropic/b"])
            #expect(summary.byModel.first?.credits == MicroCredits(305))
            #expect(summary.byModel.first?.requests == 2)
            #expect(summary.byModel.first?.inputTokens == 20)
            #expect(summary.byModel.first?.costUSD == PicoUSD(2_000))
            #expect(summary.byProvider.map(\.provider) == ["openai", "groq", "anthropic"])
            #expect(summary.byProvider.map(\.model) == ["", "", ""])
            #expect(summary.byProvider.map(\.credits) == [MicroCredits(305), MicroCredits(110), MicroCredits(7)])
            #expect(summary.byProvider.last?.byokRequests == 1)
            // The chart, the tables and the totals add up to the same figure.
            let fromDays = summary.days.reduce(Int64(0)) { $0 + $1.credits.value }
            #expect(fromDays == summary.byProvider.reduce(Int64(0)) { $0 + $1.credits.value })
            #expect(try await store.usageSummary(organizationID: org.id, since: day + 10 * UsageDay.lengthMs) == UsageSummary())

            #expect(try await store.usageRecord(requestID: "req_3", organizationID: org.id)?.byok == true)
            #expect(try await store.usageRecord(requestID: "req_x", organizationID: org.id) == nil)
            #expect(try await store.usageRecord(requestID: "req_nope", organizationID: org.id) == nil)
        }
    }
}
