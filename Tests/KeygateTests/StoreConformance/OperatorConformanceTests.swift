import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// What every `Store` backend must do for the operator: tokens stored as hashes, suspension, usage across
/// organisations by day, and the append-only audit trail. Each test runs once per backend in `StoreBackend.all`.
@Suite struct OperatorConformanceTests {
    @Test(arguments: StoreBackend.all)
    func operatorTokensAreFoundByLookupIDAndRevokedOnce(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let hash = [UInt8](repeating: 7, count: 32) + [0, 255]
            let token = OperatorToken(
                id: "op_1", name: "ops-alice", lookupID: "0123456789ab", hash: hash, preview: "kgop_0123456789ab_…wxyz", createdAt: 1_000)
            try await store.createOperatorToken(token)
            try await store.createOperatorToken(
                OperatorToken(id: "op_2", name: "bot", lookupID: "ba9876543210", hash: [1], preview: "p", createdAt: 2_000))
            await #expect(throws: StoreError.self) {
                try await store.createOperatorToken(
                    OperatorToken(id: "op_3", name: "x", lookupID: "0123456789ab", hash: [2], preview: "p", createdAt: 3_000))
            }
            #expect(try await store.operatorToken(lookupID: "0123456789ab") == token, "the hash round-trips byte for byte")
            #expect(try await store.operatorToken(lookupID: "ffffffffffff") == nil)
            #expect(try await store.operatorTokens().map(\.id) == ["op_1", "op_2"])
            #expect(try await store.revokeOperatorToken(id: "op_1", at: 5_000))
            #expect(try await store.revokeOperatorToken(id: "op_1", at: 6_000) == false)
            #expect(try await store.revokeOperatorToken(id: "op_nope", at: 6_000) == false)
            let other = try await database.openAnother()
            #expect(try await other.operatorToken(lookupID: "0123456789ab")?.revokedAt == 5_000, "seen by another process")
            try await other.close()
        }
    }

    @Test(arguments: StoreBackend.all)
    func suspensionIsSetSeenAndLifted(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let acme = try await store.createOrganization(slug: "acme", name: "Acme")
            let beta = try await store.createOrganization(slug: "beta", name: "Beta")
            #expect(try await store.suspension(organizationID: acme.id) == nil)
            let suspension = OrganizationSuspension(reason: "unpaid invoice", suspendedAt: 42_000)
            try await store.setSuspension(suspension, organizationID: acme.id)
            #expect(try await store.suspension(organizationID: acme.id) == suspension)
            #expect(try await store.suspension(organizationID: beta.id) == nil)
            #expect(try await store.suspensions() == [acme.id: suspension])
            #expect(try await store.organization(slug: "acme") == acme, "the organisation itself is unchanged")
            try await store.setSuspension(nil, organizationID: acme.id)
            #expect(try await store.suspension(organizationID: acme.id) == nil)
            #expect(try await store.suspensions().isEmpty)
            await #expect(throws: StoreError.self) { try await store.setSuspension(suspension, organizationID: "org_nope") }
        }
    }

    @Test(arguments: StoreBackend.all)
    func usageIsSummedPerOrganisationPerDay(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let admin = AdminService(store: store)
            let acme = try await admin.createOrganization(slug: "acme", name: nil)
            let beta = try await admin.createOrganization(slug: "beta", name: nil)
            let (acmeKey, _) = try await admin.createAPIKey(organizationSlug: "acme", name: nil, isAdmin: false)
            let (betaKey, _) = try await admin.createAPIKey(organizationSlug: "beta", name: nil, isAdmin: false)
            let day: Int64 = 86_400_000
            let start = 20_000 * day
            func record(
                _ id: String, _ org: Organization, _ key: APIKeyRecord, at: Int64, byok: Bool = false, credits: Int64 = 0, fee: Int64 = 0
            )
                -> UsageRecord
            {
                UsageRecord(
                    requestID: id, organizationID: org.id, apiKeyID: key.id, model: "openai/a", provider: "openai", byok: byok,
                    billing: byok ? .byok : .credits, usage: TokenUsage(inputTokens: 10, outputTokens: 4), costUSD: PicoUSD(1_000),
                    creditsCharged: MicroCredits(credits), feeCredits: MicroCredits(fee), latencyMs: 1, timeToFirstTokenMs: nil, stream: false,
                    status: 200, errorCode: nil, createdAt: at)
            }
            try await store.recordUsage([
                record("r1", acme, acmeKey, at: start + 5, credits: 100, fee: 5),
                record("r2", acme, acmeKey, at: start + day - 1, byok: true, fee: 7),
                record("r3", beta, betaKey, at: start + 10, credits: 50),
                record("r4", acme, acmeKey, at: start + day + 1, credits: 1),
                record("r5", acme, acmeKey, at: start - 1, credits: 1_000),
                record("r6", acme, acmeKey, at: start + 2 * day, credits: 1_000),
            ])
            let rows = try await store.dailyUsage(since: start, until: start + 2 * day)
            let (first, second) = acme.id < beta.id ? (acme.id, beta.id) : (beta.id, acme.id)
            #expect(rows.map(\.dayStart) == [start, start, start + day])
            #expect(rows.map(\.organizationID) == [first, second, acme.id])
            let acmeDay = try #require(rows.first { $0.organizationID == acme.id && $0.dayStart == start })
            #expect(acmeDay.requests == 2 && acmeDay.byokRequests == 1)
            #expect(acmeDay.inputTokens == 20 && acmeDay.outputTokens == 8)
            #expect(acmeDay.creditsCharged == MicroCredits(100) && acmeDay.fees == MicroCredits(12) && acmeDay.costUSD == PicoUSD(2_000))
            #expect(rows.first { $0.organizationID == beta.id }?.creditsCharged == MicroCredits(50))
            #expect(try await store.dailyUsage(since: start + 3 * day, until: start + 4 * day).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.all)
    func auditRecordsAreKeptAndReadNewestFirst(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            func record(_ id: String, at: Int64, target: String?, detail: String? = nil) -> AuditRecord {
                AuditRecord(
                    id: id, at: at, actorID: "op_1", actorName: "ops-alice", action: "credits.grant", target: target, detail: detail,
                    outcome: "ok", clientAddress: "127.0.0.1")
            }
            try await store.appendAudit(record("aud_1", at: 1_000, target: "acme", detail: "credits: 5, reason: welcome"))
            try await store.appendAudit(record("aud_2", at: 3_000, target: nil))
            try await store.appendAudit(record("aud_3", at: 2_000, target: "beta"))
            try await store.appendAudit(record("aud_4", at: 2_000, target: "acme"))
            let all = try await store.auditRecords(limit: 10, target: nil)
            #expect(all.map(\.id) == ["aud_2", "aud_4", "aud_3", "aud_1"])
            #expect(all.last == record("aud_1", at: 1_000, target: "acme", detail: "credits: 5, reason: welcome"))
            #expect(all.first?.target == nil && all.first?.detail == nil)
            #expect(try await store.auditRecords(limit: 2, target: nil).map(\.id) == ["aud_2", "aud_4"])
            #expect(try await store.auditRecords(limit: 10, target: "acme").map(\.id) == ["aud_4", "aud_1"])
            await #expect(throws: (any Error).self) { try await store.appendAudit(record("aud_1", at: 9_000, target: nil)) }
        }
    }
}
