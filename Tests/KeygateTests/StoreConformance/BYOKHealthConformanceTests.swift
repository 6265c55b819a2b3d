import Foundation
import KeygateCore
import KeygateStore
import Testing

/// The scheduled BYOK key checks' store area on every backend: only active keys that are due are claimed,
/// oldest first and at most `limit`; a claimed key is not due again for an interval (two processes claiming at
/// once never get the same key); a refusal marks only a still-active key invalid.
extension StoreConformanceTests {
    @Test(arguments: StoreBackend.all)
    func byokHealthClaimsDueActiveKeysOnce(backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            try await store.addBYOKKey(byokKey("bk_old", org: org, at: 1_000))
            try await store.addBYOKKey(byokKey("bk_groq", org: org, provider: "groq", at: 2_000))
            try await store.addBYOKKey(byokKey("bk_new", org: org, provider: "google", at: 9_000))
            try await store.addBYOKKey(byokKey("bk_off", org: org, provider: "mistral", status: .inactive, at: 500))

            // Due: added (or last checked) before 5 000; the inactive key never is.
            let first = try await store.claimBYOKHealthChecks(now: 10_000, dueBefore: 5_000, limit: 1)
            #expect(first.map(\.id) == ["bk_old"])
            let second = try await store.claimBYOKHealthChecks(now: 10_000, dueBefore: 5_000, limit: 10)
            #expect(second.map(\.id) == ["bk_groq"], "a claimed key is not claimed again")
            #expect(try await store.claimBYOKHealthChecks(now: 10_000, dueBefore: 5_000, limit: 10).isEmpty)
            // An interval later every active key is due again.
            let later = try await store.claimBYOKHealthChecks(now: 20_000, dueBefore: 15_000, limit: 10)
            #expect(Set(later.map(\.id)) == ["bk_old", "bk_groq", "bk_new"])

            // Concurrent claims share the due keys without overlap.
            async let a = store.claimBYOKHealthChecks(now: 40_000, dueBefore: 30_000, limit: 10)
            async let b = store.claimBYOKHealthChecks(now: 40_000, dueBefore: 30_000, limit: 10)
            let (claimedA, claimedB) = try await (a, b)
            #expect(Set(claimedA.map(\.id)).isDisjoint(with: claimedB.map(\.id)))
            #expect(claimedA.count + claimedB.count <= 3)

            // A refusal marks the active key invalid with its reason and time; a success records "ok".
            #expect(
                try await store.recordBYOKHealthCheck(id: "bk_old", organizationID: org.id, result: "refused (HTTP 401)", invalid: true, at: 41_000))
            let refused = try #require(try await store.byokKey(id: "bk_old", organizationID: org.id))
            #expect(refused.status == .invalid && refused.lastValidationResult == "refused (HTTP 401)" && refused.lastValidatedAt == 41_000)
            #expect(try await store.recordBYOKHealthCheck(id: "bk_old", organizationID: org.id, result: "again", invalid: true, at: 42_000) == false)
            #expect(try await store.recordBYOKHealthCheck(id: "bk_groq", organizationID: org.id, result: "ok", invalid: false, at: 41_000) == false)
            let ok = try #require(try await store.byokKey(id: "bk_groq", organizationID: org.id))
            #expect(ok.status == .active && ok.lastValidationResult == "ok" && ok.lastValidatedAt == 41_000)
            // A key the org deactivated meanwhile is left as it is; another org's id changes nothing.
            #expect(
                try await store.recordBYOKHealthCheck(id: "bk_off", organizationID: org.id, result: "refused", invalid: true, at: 43_000) == false)
            #expect(try await store.byokKey(id: "bk_off", organizationID: org.id)?.status == .inactive)
            let other = try await store.createOrganization(slug: "other", name: "Other")
            #expect(
                try await store.recordBYOKHealthCheck(id: "bk_new", organizationID: other.id, result: "refused", invalid: true, at: 43_000) == false)
            #expect(try await store.byokKey(id: "bk_new", organizationID: org.id)?.status == .active)
            // Invalid keys are not checked again.
            #expect(try await store.claimBYOKHealthChecks(now: 90_000, dueBefore: 80_000, limit: 10).map(\.id).contains("bk_old") == false)
        }
    }
}
