import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// Packs and Checkout through the API, against the fake Stripe.
@Suite struct CheckoutTests {
    @Test func packsListTheirPriceAndDiscountExactly() async throws {
        try await withPayments { p in
            let reply = try await p.api(.GET, "/packs")
            #expect(reply.status == 200, "\(reply.text)")
            // Exact decimals as JSON numbers: read the text, not a Double.
            #expect(reply.text.contains(#""id":"standard""#))
            #expect(reply.text.contains(#""price":47.50"#), "\(reply.text)")
            #expect(reply.text.contains(#""discount_percent":5.00"#), "\(reply.text)")
            #expect(reply.text.contains(#""credits":5000.00"#), "\(reply.text)")
        }
    }

    @Test func checkoutWritesThePurchaseFirstAndAsksStripeForAPaymentThatSavesTheCard() async throws {
        try await withPayments { p in
            let (purchaseID, sessionID) = try await p.checkout("standard")
            let purchase = try #require(try await p.purchase(purchaseID))
            #expect(purchase.status == .pending)
            #expect(purchase.checkoutSessionID == sessionID)
            #expect(purchase.amount == 4750 && purchase.currency == "usd" && purchase.credits == .credits(5000))

            let posts = p.stripe.requests.filter { $0.method == "POST" }
            #expect(posts.map(\.path) == ["/v1/customers", "/v1/checkout/sessions"])
            for post in posts {
                #expect(post.headers["idempotency-key"]?.isEmpty == false, "every POST carries an idempotency key")
                #expect(post.headers["stripe-version"] == "2026-09-30.endive")
                #expect(post.headers["authorization"] == "Bearer " + PaymentHarness.stripeSecret)
            }
            let checkoutRequest = try #require(posts.last)
            #expect(checkoutRequest[parameter: "mode"] == "payment")
            #expect(checkoutRequest[parameter: "line_items[0][price_data][unit_amount]"] == "4750")
            #expect(checkoutRequest[parameter: "line_items[0][price_data][currency]"] == "usd")
            #expect(checkoutRequest[parameter: "line_items[0][quantity]"] == "1")
            #expect(checkoutRequest[parameter: "client_reference_id"] == purchaseID)
            #expect(checkoutRequest[parameter: "metadata[keygate_purchase]"] == purchaseID)
            #expect(checkoutRequest[parameter: "metadata[keygate_org]"] == p.h.organization.id)
            #expect(checkoutRequest[parameter: "payment_intent_data[setup_future_usage]"] == "off_session")
            #expect(checkoutRequest[parameter: "success_url"]?.hasPrefix("https://gateway.example.com/acme/billing") == true)

            // The organisation's customer is created once.
            _ = try await p.checkout("starter")
            #expect(p.stripe.requests.filter { $0.method == "POST" && $0.path == "/v1/customers" }.count == 1)
            let listed = try await p.api(.GET, "/purchases")
            #expect(listed.status == 200)
            #expect(listed.text.contains(purchaseID) && listed.text.contains(#""status":"pending""#))
        }
    }

    @Test func aBadPackOrMissingStripeChangesNothing() async throws {
        try await withPayments { p in
            let unknown = try await p.api(.POST, "/checkout", body: #"{"pack":"enormous"}"#)
            #expect(unknown.status == 400)
            #expect(unknown.error?["code"] as? String == "unknown_pack")
            #expect(unknown.error?["param"] as? String == "pack")
            let missing = try await p.api(.POST, "/checkout", body: "{}")
            #expect(missing.status == 400)
            #expect(p.stripe.requests.isEmpty)
            #expect(try await p.h.gateway.store.purchases(organizationID: p.h.organization.id, limit: 10).isEmpty)
        }
        try await withHarness { h in
            let (_, admin) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "a", isAdmin: true)
            let reply = try await h.request(.POST, "/api/orgs/acme/checkout", body: #"{"pack":"starter"}"#, key: admin)
            #expect(reply.status == 503)
            #expect(reply.error?["code"] as? String == "payments_not_configured")
        }
    }

    @Test func aStripeFailureClosesThePurchaseAndChargesNothing() async throws {
        try await withPayments { p in
            p.stripe.failNext(10, status: 500)
            let reply = try await p.api(.POST, "/checkout", body: #"{"pack":"starter"}"#)
            #expect(reply.status == 502, "\(reply.text)")
            #expect(reply.error?["code"] as? String == "payment_provider_error")
            #expect(!reply.text.contains(PaymentHarness.stripeSecret))
            let purchases = try await p.h.gateway.store.purchases(organizationID: p.h.organization.id, limit: 10)
            #expect(purchases.map(\.status) == [.failed])
            #expect(try await p.entries(.purchase).isEmpty)
        }
    }

    @Test func rateLimitsAndTimeoutsAreRetriedWithTheSameKeyAndCreateOneSession() async throws {
        try await withPayments(environment: ["KEYGATE_STRIPE_TIMEOUT_SECONDS": "2"]) { p in
            _ = try await p.checkout("starter")  // the customer exists: the next checkout is one POST
            let before = p.stripe.requests.count
            p.stripe.failNext(1, status: 429)
            p.stripe.delayNext(0)  // the 429, at once
            p.stripe.delayNext(6)  // the retry is carried out but answered too late: a timeout
            let (purchaseID, sessionID) = try await p.checkout("pro")
            let attempts = p.stripe.requests.dropFirst(before).filter { $0.path == "/v1/checkout/sessions" }
            #expect(attempts.count == 3, "429, a timeout, then the answer")
            #expect(Set(attempts.compactMap(\.idempotencyKey)).count == 1, "every attempt re-sent the same key")
            #expect(attempts.first?.idempotencyKey?.contains(purchaseID) == true)
            // The third attempt was answered with the session the timed-out one created (Stripe's replay).
            #expect(p.stripe.objectJSON(sessionID) != nil)
            #expect(try await p.purchase(purchaseID)?.status == .pending)
        }
    }

    @Test func aWrongStripeKeyIsTheOperatorsProblemAndNeverEchoed() async throws {
        try await withPayments(environment: ["KEYGATE_STRIPE_SECRET_KEY": "sk_test_WRONGwrongWRONG9876"]) { p in
            let reply = try await p.api(.POST, "/checkout", body: #"{"pack":"starter"}"#)
            #expect(reply.status == 502, "\(reply.text)")
            #expect(reply.text.contains("KEYGATE_STRIPE_SECRET_KEY"))
            #expect(!reply.text.contains("9876") && !reply.text.contains("WRONG"))
            #expect(!p.h.logs.all.joined().contains("sk_test_WRONGwrongWRONG9876"))
        }
    }
}
