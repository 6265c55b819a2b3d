import Foundation
import KeygateCore
@testable import KeygateServer
import Testing

/// A model the provider serves but the catalog lacks is refused with a 404 that says how to add it: never run
/// on the platform's account, never billed at 0.
@Suite struct UncataloguedModelTests {
    @Test func anUnlistedModelOfAListedProviderIs404AndChargesNothing() async throws {
        try await withHarness { h in
            let before = try await h.gateway.store.balance(organizationID: h.organization.id)
            for model in ["openai/gpt-not-in-the-catalog", "gpt-not-in-the-catalog"] {
                let reply = try await h.chat("hi", model: model)
                #expect(reply.status == 404, "\(reply.text)")
                #expect(reply.error?["code"] as? String == "model_not_found" && reply.error?["param"] as? String == "model")
                let message = reply.error?["message"] as? String ?? ""
                #expect(message.contains("keygate catalog import --litellm") && message.contains("KEYGATE_CATALOG"), "\(message)")
            }
            #expect(h.fake.requests.isEmpty, "never sent upstream")
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id) == before)
            let records = try await h.usageRecords(atLeast: 2)
            #expect(records.allSatisfy { $0.status == 404 && $0.creditsCharged == .zero && $0.billing == nil })
        }
    }

    @Test func aForcedProviderModelPricedNowhereIsRefusedWhileABYOKFeeApplies() async throws {
        try await withHarness(environment: ["KEYGATE_BYOK_FEE_PERCENT": "5"]) { h in
            h.fake.accept("sk-or-v1-org-key-123456")
            try await h.addBYOKKey("sk-or-v1-org-key-123456", provider: "openrouter")
            let unpriced = try await h.request(
                .POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi", model: "vendor/brand-new-model"),
                headers: [("x-byok-provider", "openrouter")])
            #expect(unpriced.status == 404, "\(unpriced.text)")
            #expect(unpriced.error?["code"] as? String == "model_not_found")
            #expect((unpriced.error?["message"] as? String)?.contains("keygate catalog import") == true)
            #expect(h.fake.requests.isEmpty, "refused before the provider is called: no fee of 0")

            // A model the catalog prices elsewhere runs on the organisation's key, with its fee.
            let priced = try await h.request(
                .POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi", model: "anthropic/claude-sonnet-5"),
                headers: [("x-byok-provider", "openrouter")])
            #expect(priced.status == 200, "\(priced.text)")
            #expect(priced.headers.first(name: "x-keygate-billing") == "byok")
            let records = try await h.usageRecords(atLeast: 2)
            #expect(records.contains { $0.status == 200 && $0.feeCredits.value > 0 })
        }
    }
}
