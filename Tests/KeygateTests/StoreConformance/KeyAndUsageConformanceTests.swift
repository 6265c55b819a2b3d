import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// BYOK keys, organisation settings and usage batches on every backend (`StoreConformanceTests`' own file
/// holds the first cases): rotation keeps one active key per provider even under concurrent additions,
/// ciphertexts round-trip byte for byte, and a usage batch drops repeated request ids and notes its keys' use.
extension StoreConformanceTests {
    func byokKey(_ id: String, org: Organization, provider: String = "openai", status: BYOKKeyStatus = .active, at: Int64) -> BYOKKeyRecord {
        BYOKKeyRecord(
            id: id, organizationID: org.id, provider: provider, ciphertext: [0, 1, 2, 0xFF, UInt8(at % 256)], masterKeyID: "mk1",
            preview: "sk-…\(id)", status: status, createdAt: at)
    }

    @Test(arguments: StoreBackend.all)
    func byokKeysRotateWithOneActiveKeyPerProvider(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            let other = try await store.createOrganization(slug: "other", name: "Other")
            try await store.addBYOKKey(byokKey("bk_a", org: org, at: 1))
            try await store.addBYOKKey(byokKey("bk_g", org: org, provider: "groq", at: 2))
            try await store.addBYOKKey(byokKey("bk_b", org: org, at: 3))
            #expect(try await store.byokKeys(organizationID: org.id).map(\.status) == [.inactive, .active, .active])
            #expect(try await store.activeBYOKKey(organizationID: org.id, provider: "openai")?.id == "bk_b")
            #expect(try await store.byokKey(id: "bk_a", organizationID: org.id)?.ciphertext == [0, 1, 2, 0xFF, 1])
            #expect(try await store.byokKey(id: "bk_a", organizationID: other.id) == nil)

            // Reactivating the old key deactivates the new one; a refused key stays the one requests use.
            #expect(try await store.setBYOKKeyStatus(id: "bk_a", organizationID: org.id, status: .active, validationResult: nil))
            #expect(try await store.byokKey(id: "bk_b", organizationID: org.id)?.status == .inactive)
            #expect(try await store.setBYOKKeyStatus(id: "bk_a", organizationID: org.id, status: .invalid, validationResult: "401"))
            let refused = try #require(try await store.activeBYOKKey(organizationID: org.id, provider: "openai"))
            #expect(refused.id == "bk_a" && refused.status == .invalid && refused.lastValidationResult == "401")
            #expect(refused.lastValidatedAt != nil)
            #expect(try await store.setBYOKKeyStatus(id: "bk_a", organizationID: other.id, status: .active, validationResult: nil) == false)
            #expect(try await store.setBYOKKeyStatus(id: "bk_nope", organizationID: org.id, status: .active, validationResult: nil) == false)
            try await store.addBYOKKey(byokKey("bk_c", org: org, at: 4))
            #expect(try await store.byokKey(id: "bk_a", organizationID: org.id)?.status == .inactive, "the refused key is replaced")

            // Concurrent rotations (several replicas at once) all succeed and leave one active key, also for a
            // provider that had no key yet (no row to lock: PostgreSQL needs its advisory lock there).
            let rotations = (0..<8).flatMap { i in
                [byokKey("bk_r\(i)", org: org, at: 10 + Int64(i)), byokKey("bk_m\(i)", org: org, provider: "mistral", at: 10 + Int64(i))]
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for key in rotations {
                    group.addTask { try await store.addBYOKKey(key) }
                }
                try await group.waitForAll()
            }
            let openai = try await store.byokKeys(organizationID: org.id).filter { $0.provider == "openai" }
            #expect(openai.count == 11)
            #expect(openai.filter { $0.status == .active }.count == 1)
            let mistral = try await store.byokKeys(organizationID: org.id).filter { $0.provider == "mistral" }
            #expect(mistral.count == 8 && mistral.filter { $0.status == .active }.count == 1)
            #expect(try await store.activeBYOKKey(organizationID: org.id, provider: "groq")?.id == "bk_g")

            // A master key rotation replaces a ciphertext only if it is still the one it read.
            #expect(try await store.replaceBYOKCiphertext(id: "bk_g", from: [9, 9], to: [7], masterKeyID: "mk2") == false)
            #expect(try await store.replaceBYOKCiphertext(id: "bk_g", from: [0, 1, 2, 0xFF, 2], to: [0, 7, 0], masterKeyID: "mk2"))
            let rotated = try #require(try await store.byokKey(id: "bk_g", organizationID: org.id))
            #expect(rotated.ciphertext == [0, 7, 0] && rotated.masterKeyID == "mk2")
            #expect(try await store.allBYOKKeys().count == 20)
            #expect(try await store.deleteBYOKKey(id: "bk_g", organizationID: other.id) == false)
            #expect(try await store.deleteBYOKKey(id: "bk_g", organizationID: org.id))
            #expect(try await store.deleteBYOKKey(id: "bk_g", organizationID: org.id) == false)
            #expect(try await store.activeBYOKKey(organizationID: org.id, provider: "groq") == nil)
        }
    }

    @Test(arguments: StoreBackend.all)
    func organisationSettingsRoundTrip(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            #expect(try await store.organizationSettings(organizationID: org.id) == OrganizationSettings())
            try await store.setOrganizationSettings(OrganizationSettings(byokFallbackOnRateLimit: true), organizationID: org.id)
            #expect(try await store.organizationSettings(organizationID: org.id).byokFallbackOnRateLimit)
            #expect(try await store.organizationSettings(organizationID: "org_nope") == OrganizationSettings())
        }
    }

    @Test(arguments: StoreBackend.all)
    func usageBatchesDropRepeatedRequestsAndNoteTheirKeysUse(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let admin = AdminService(store: store)
            let org = try await admin.createOrganization(slug: "acme", name: nil)
            let (key, _) = try await admin.createAPIKey(organizationSlug: "acme", name: nil, isAdmin: false)
            try await store.addBYOKKey(byokKey("bk_a", org: org, at: 1))
            try await store.addBYOKKey(byokKey("bk_g", org: org, provider: "groq", at: 1))
            func record(_ id: String, byokKey: String? = nil, at: Int64) -> UsageRecord {
                UsageRecord(
                    requestID: id, organizationID: org.id, apiKeyID: key.id, model: "openai/a", provider: "openai", byok: byokKey != nil,
                    billing: byokKey != nil ? .byok : nil,
                    usage: TokenUsage(inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0, estimated: false),
                    costUSD: PicoUSD(0), latencyMs: 3, timeToFirstTokenMs: nil, stream: false, status: 502, errorCode: "upstream_error",
                    createdAt: at, byokKeyID: byokKey)
            }
            try await store.recordUsage([
                record("req_1", at: 1_000), record("req_2", byokKey: "bk_a", at: 5_000), record("req_1", at: 1_001),
                record("req_3", byokKey: "bk_a", at: 4_000),
            ])
            try await store.recordUsage([record("req_1", at: 9_000), record("req_4", byokKey: "bk_g", at: 2_000)])
            #expect(try await store.usageRecords(organizationID: org.id, limit: 10).map(\.requestID) == ["req_2", "req_3", "req_4", "req_1"])
            #expect(try await store.usageRecord(requestID: "req_1", organizationID: org.id) == record("req_1", at: 1_000))
            #expect(try await store.byokKey(id: "bk_a", organizationID: org.id)?.lastUsedAt == 5_000)
            #expect(try await store.byokKey(id: "bk_g", organizationID: org.id)?.lastUsedAt == 2_000)
            try await store.recordUsage([record("req_5", byokKey: "bk_a", at: 3_000)])
            #expect(try await store.byokKey(id: "bk_a", organizationID: org.id)?.lastUsedAt == 5_000, "an older record never moves it back")
            #expect(try await store.byokRequestCount(organizationID: org.id, since: 2_500) == 3)

            // A large batch (more rows than one statement's parameters allow on PostgreSQL), and concurrent batches
            // that use the same keys (several replicas' recorders) all land.
            try await store.recordUsage((0..<3_500).map { record("req_big_\($0)", byokKey: $0 % 2 == 0 ? "bk_a" : "bk_g", at: 10_000 + Int64($0)) })
            let batches = (0..<6).map { batch in
                let keys = batch % 2 == 0 ? ["bk_a", "bk_g"] : ["bk_g", "bk_a"]
                return (0..<50).map { record("req_c\(batch)_\($0)", byokKey: keys[$0 % 2], at: 20_000 + Int64($0)) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in batches {
                    group.addTask { try await store.recordUsage(batch) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.byokRequestCount(organizationID: org.id, since: 0) == 4 + 3_500 + 300)
            #expect(try await store.usageRecords(organizationID: org.id, limit: 5).count == 5)
            #expect(try await store.byokKey(id: "bk_g", organizationID: org.id)?.lastUsedAt == 20_049)
        }
    }
}
