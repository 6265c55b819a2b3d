import Foundation
import KeygateCore
import KeygateFakeUpstream
import KeygateStore
import KeygateStripe
import Testing

@testable import KeygateServer

/// Auto top-up: one PaymentIntent per crossing on the saved card, within the monthly limit, failures reported
/// and never retried in a loop, and a top-up whose process died granted later by the webhook, once.
@Suite struct AutoTopUpTests {
    static func paymentIntents(_ p: PaymentHarness) -> [FakeStripeRequest] {
        p.stripe.requests.filter { $0.method == "POST" && $0.path == "/v1/payment_intents" }
    }

    @Test func settingsAreValidatedAndShown() async throws {
        try await withPayments { p in
            let noPack = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":100,"monthly_limit":100}"#)
            #expect(noPack.status == 400 && noPack.error?["param"] as? String == "pack", "\(noPack.text)")
            let tooLow = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":100,"pack":"pro","monthly_limit":10}"#)
            #expect(tooLow.status == 400 && tooLow.error?["param"] as? String == "monthly_limit", "\(tooLow.text)")
            let unknown = try await p.api(.PUT, "/auto-topup", body: #"{"pack":"nope"}"#)
            #expect(unknown.status == 400 && unknown.error?["code"] as? String == "unknown_pack")
            let saved = try await p.api(
                .PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":100.5,"pack":"starter","monthly_limit":30.00}"#)
            #expect(saved.status == 200, "\(saved.text)")
            #expect(saved.text.contains(#""threshold_credits":100.50"#), "\(saved.text)")
            #expect(saved.text.contains(#""monthly_limit":30.00"#), "\(saved.text)")
            #expect(saved.json?["state"] as? String == "idle")
            #expect(saved.json?["card_saved"] as? Bool == false)
            let shown = try await p.api(.GET, "/auto-topup")
            #expect(shown.json?["pack"] as? String == "starter" && shown.json?["enabled"] as? Bool == true)
        }
    }

    @Test func fiftyConcurrentRequestsCrossingTheThresholdStartOnePaymentIntent() async throws {
        try await withPayments { p in
            try await p.buy("starter", paymentMethod: "pm_card_visa")  // 1000 + 1000 credits, card saved
            let reply = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":2000,"pack":"starter","monthly_limit":100}"#)
            #expect(reply.status == 200, "\(reply.text)")
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<50 { group.addTask { try await p.h.chat("request \(i)").status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0 == 200 })
            try await eventually { try await p.entries(.purchase).count == 2 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(Self.paymentIntents(p).count == 1)
            let intent = try #require(Self.paymentIntents(p).first)
            #expect(intent[parameter: "off_session"] == "true" && intent[parameter: "confirm"] == "true")
            #expect(intent[parameter: "amount"] == "1000" && intent[parameter: "currency"] == "usd")
            #expect(intent.headers["idempotency-key"]?.contains("pur_") == true)
            let state = try await p.api(.GET, "/auto-topup")
            #expect(state.json?["state"] as? String == "idle", "\(state.text)")
            #expect(try await p.h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func theMonthlyLimitHoldsOverManyCrossings() async throws {
        try await withPayments { p in
            try await p.buy("starter")
            // Always below the threshold: every crossing wants a top-up; the limit allows two packs.
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":25}"#)
            let org = p.h.organization.id
            for _ in 0..<6 { await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: org) }
            #expect(Self.paymentIntents(p).count == 2)
            let state = try await p.api(.GET, "/auto-topup")
            #expect(state.json?["state"] as? String == "monthly_limit_reached", "\(state.text)")
            #expect(state.json?["last_error"] as? String == "monthly_limit_reached")
            #expect(state.text.contains(#""spent_this_month":20.00"#), "\(state.text)")
            let purchases = try await p.h.gateway.store.purchases(organizationID: org, limit: 100).filter { $0.kind == .topup }
            #expect(purchases.filter { $0.status == .succeeded }.count == 2)
            #expect(purchases.filter { $0.status == .refused }.count == 1, "the refusal is in the history once")
            #expect(purchases.first { $0.status == .refused }?.failureReason == "monthly_limit_reached")
        }
    }

    @Test func aDeclineMarksTopUpFailingWithStripesReasonAndIsNotRetried() async throws {
        try await withPayments { p in
            try await p.buy("starter", paymentMethod: "pm_card_chargeDeclinedInsufficientFunds")
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":100}"#)
            let org = p.h.organization.id
            let result = await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: org)
            guard case .failed = result else {
                Issue.record("expected a failed top-up, got \(String(describing: result))")
                return
            }
            for _ in 0..<5 { await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: org) }
            #expect(Self.paymentIntents(p).count == 1, "no loop")
            let state = try await p.api(.GET, "/auto-topup")
            #expect(state.json?["state"] as? String == "failing", "\(state.text)")
            #expect((state.json?["last_error"] as? String)?.contains("insufficient funds") == true, "\(state.text)")
            let failed = try await p.h.gateway.store.purchases(organizationID: org, limit: 10).first { $0.kind == .topup }
            #expect(failed?.status == .failed && failed?.failureReason?.contains("insufficient funds") == true)
            #expect(try await p.entries(.purchase).count == 1, "only the checkout granted")
            // The admin's explicit re-enable re-arms it (and it fails again on the same card, once).
            let rearmed = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true}"#)
            #expect(rearmed.json?["state"] as? String == "idle", "\(rearmed.text)")
            await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: org)
            #expect(Self.paymentIntents(p).count == 2)
        }
    }

    @Test func authenticationRequiredIsReportedInWords() async throws {
        try await withPayments { p in
            try await p.buy("starter", paymentMethod: "pm_card_authenticationRequired")
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":100}"#)
            await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: p.h.organization.id)
            let state = try await p.api(.GET, "/auto-topup")
            #expect(state.json?["state"] as? String == "failing", "\(state.text)")
            #expect((state.json?["last_error"] as? String)?.lowercased().contains("authenticat") == true, "\(state.text)")
        }
    }

    /// The process claimed the top-up and Stripe charged the card, then the process died before granting:
    /// the webhook grants, and asking Stripe again (same idempotency key) neither charges nor grants twice.
    @Test func aTopUpWhoseProcessDiedIsGrantedByTheWebhookOnce() async throws {
        try await withPayments { p in
            try await p.buy("starter")
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":100}"#)
            let store = p.h.gateway.store
            let org = p.h.organization.id
            let pack = try #require(p.h.gateway.packs.pack(id: "starter"))
            let prepared = PurchaseRecord(
                id: Identifiers.make("pur"), organizationID: org, kind: .topup, packID: pack.id, credits: pack.grantedCredits,
                amount: pack.price, currency: pack.currency, createdAt: WallClock.nowMs())
            guard
                case .claimed(let purchase, let customer, let card) = try await store.claimTopUp(
                    prepared, monthStart: MonthStart.utc(ofMs: WallClock.nowMs()))
            else {
                Issue.record("the top-up was not claimed")
                return
            }
            // What the dead process did: the PaymentIntent, and nothing after it.
            let stripe = try #require(p.h.gateway.stripe)
            _ = try await stripe.send(
                StripeRequests.createTopUpPaymentIntent(
                    purchaseID: purchase.id, organizationID: org, customerID: customer, paymentMethodID: card, amount: purchase.amount,
                    currency: purchase.currency))
            #expect(try await store.purchase(id: purchase.id)?.status == .pending)
            let succeeded = try #require(p.stripe.events.last { $0.type == "payment_intent.succeeded" })
            #expect(try await p.deliver(succeeded) == 200)
            #expect(try await store.purchase(id: purchase.id)?.status == .succeeded)
            #expect(await p.h.gateway.autoTopUp.retryPending(now: WallClock.nowMs() + 3_600_000) == 0, "nothing pending any more")
            #expect(Self.paymentIntents(p).count == 1)
            #expect(try await p.entries(.purchase).count == 2)
        }
    }

    /// Stripe charged but its answer was lost: the next look at pending top-ups asks again with the same key,
    /// Stripe replays its first answer, and the grant happens once.
    @Test func aLostAnswerIsAskedForAgainWithTheSameIdempotencyKey() async throws {
        try await withPayments { p in
            try await p.buy("starter")
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":100}"#)
            p.stripe.failNext(3, status: 500)
            let first = await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: p.h.organization.id)
            #expect(first == .unknown)
            #expect(try await p.entries(.purchase).count == 1)
            #expect(await p.h.gateway.autoTopUp.retryPending(now: WallClock.nowMs() + 3_600_000) == 1)
            #expect(try await p.entries(.purchase).count == 2)
            let keys = Set(Self.paymentIntents(p).compactMap { $0.headers["idempotency-key"] })
            #expect(keys.count == 1, "every attempt used the purchase's key")
        }
    }

    @Test func noStripeSecretAppearsInLogsResponsesOrTheDatabase() async throws {
        try await withPayments { p in
            var texts: [String] = []
            try await p.buy("starter")
            texts.append(
                try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":1000000,"pack":"starter","monthly_limit":100}"#).text
            )
            await p.h.gateway.autoTopUp.topUpIfNeeded(organizationID: p.h.organization.id)
            for path in ["/auto-topup", "/purchases", "/packs", "/ledger", "/balance"] { texts.append(try await p.api(.GET, path).text) }
            texts.append(try await p.api(.POST, "/checkout", body: #"{"pack":"starter"}"#).text)
            texts.append("\(p.h.gateway.configuration)")
            let secrets = [PaymentHarness.stripeSecret, PaymentHarness.webhookSecret]
            let logs = p.h.logs.all.joined(separator: "\n")
            #expect(!logs.isEmpty)
            for secret in secrets {
                #expect(!logs.contains(secret), "a log line leaks a Stripe secret")
                for text in texts { #expect(!text.contains(secret), "a response leaks a Stripe secret") }
            }
            try await p.h.gateway.store.checkReachable()
            var scanned = Data()
            for name in ["keygate.db", "keygate.db-wal"] {
                let bytes = try #require(FileManager.default.contents(atPath: (p.h.dataDirectory as NSString).appendingPathComponent(name)))
                scanned += bytes
                for secret in secrets { #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds a Stripe secret") }
            }
            // The scan sees what the database holds: the purchases' Stripe ids are there, the secrets are not.
            let customer = try #require(try await p.h.gateway.store.billingAccount(organizationID: p.h.organization.id).stripeCustomerID)
            #expect(scanned.range(of: Data(customer.utf8)) != nil)
        }
    }
}
