import Foundation
import KeygateCore
import KeygateFakeUpstream
import KeygateServer
import KeygateStore
import Testing

/// `POST /webhooks/stripe`: signatures, exactly-once grants, refunds and disputes.
@Suite struct WebhookTests {
    @Test func aCompletedCheckoutDeliveredTenTimesAtOnceGrantsOnceAndSavesTheCard() async throws {
        try await withPayments { p in
            let (purchaseID, sessionID) = try await p.checkout("starter")
            let event = try p.stripe.completeCheckout(sessionID: sessionID, paymentMethod: "pm_card_visa")
            let before = try await p.balance()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 { group.addTask { try await p.deliver(event) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let after = try await p.balance()
            #expect(after.regular.value - before.regular.value == MicroCredits.credits(1000).value)
            #expect(try await p.entries(.purchase).count == 1)
            #expect(try await p.purchase(purchaseID)?.status == .succeeded)
            let topUp = try await p.api(.GET, "/auto-topup")
            #expect(topUp.json?["card_saved"] as? Bool == true, "\(topUp.text)")
            #expect(try await p.h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func onlyAValidSignatureWithinFiveMinutesIsApplied() async throws {
        try await withPayments { p in
            let (_, sessionID) = try await p.checkout("starter")
            let event = try p.stripe.completeCheckout(sessionID: sessionID, paymentMethod: "pm_card_visa")
            // Past the 300 s tolerance by a margin a slow machine cannot eat (the exact edge is a unit test of
            // StripeWebhookSignature, with a fixed clock).
            let now = Int64(Date().timeIntervalSince1970)
            func post(_ header: String?, body: [UInt8] = event.json) async throws -> GatewayHarness.Reply {
                var headers: [(String, String)] = [("content-type", "application/json")]
                if let header { headers.append(("stripe-signature", header)) }
                return try await p.h.request(
                    .POST, "/webhooks/stripe", body: String(decoding: body, as: UTF8.self), key: .some(nil), headers: headers)
            }
            let sign = { (secret: String, t: Int64, body: [UInt8]) in p.stripe.signedHeader(for: body, secret: secret, timestamp: t) }
            let good = sign(PaymentHarness.webhookSecret, now, event.json)
            var tampered = event.json
            if let index = tampered.firstIndex(of: UInt8(ascii: "1")) { tampered[index] = UInt8(ascii: "2") }
            let v1 = { (header: String) in header.split(separator: ",").first { $0.hasPrefix("v1=") }.map(String.init) ?? "" }
            let cases: [(String, String?, [UInt8])] = [
                ("wrong secret", sign("whsec_someoneElse", now, event.json), event.json),
                ("stale", sign(PaymentHarness.webhookSecret, now - 400, event.json), event.json),
                ("too far in the future", sign(PaymentHarness.webhookSecret, now + 400, event.json), event.json),
                ("tampered body", good, tampered),
                ("missing header", nil, event.json),
                ("malformed header", "v1=abc;t=oops", event.json),
                ("no timestamp", v1(good), event.json),
            ]
            for (name, header, body) in cases {
                let reply = try await post(header, body: body)
                #expect(reply.status == 400, "\(name): \(reply.status) \(reply.text)")
                #expect(reply.error?["code"] as? String == "invalid_signature" || reply.error?["code"] as? String == "invalid_event", "\(name)")
            }
            #expect(try await p.entries(.purchase).isEmpty, "nothing was applied")
            // Several v1 signatures (a secret being rolled), one of them right: accepted.
            let several = "t=\(now),v1=\(String(repeating: "0", count: 64)),\(v1(good))"
            let accepted = try await post(several)
            #expect(accepted.status == 200, "\(accepted.text)")
            #expect(try await p.entries(.purchase).count == 1)
        }
    }

    @Test func aPaymentThatDoesNotMatchThePurchaseIsFlaggedAndGrantsNothing() async throws {
        try await withPayments { p in
            let (purchaseID, sessionID) = try await p.checkout("starter")
            let event = try p.stripe.completeCheckout(sessionID: sessionID, paymentMethod: "pm_card_visa", amountOverride: 1)
            #expect(try await p.deliver(event) == 200)
            #expect(try await p.purchase(purchaseID)?.status == .flagged)
            #expect(try await p.entries(.purchase).isEmpty)
            let warning = p.h.logs.all.first { $0.contains("does not match") }
            #expect(warning?.contains(purchaseID) == true && warning?.contains(event.id) == true, "the warning names the ids")
        }
    }

    @Test func refundsTakeBackOnlyTheNewlyRefundedPartOnce() async throws {
        try await withPayments { p in
            let purchaseID = try await p.buy("starter")  // $10.00 → 1000 credits
            let chargeID = try #require(try await p.purchase(purchaseID)?.chargeID)
            let first = try p.stripe.refund(chargeID: chargeID, amount: 250)  // cumulative 250
            let second = try p.stripe.refund(chargeID: chargeID, amount: 250)  // cumulative 500
            #expect(try await p.deliver(first) == 200)
            #expect(try await p.deliver(first) == 200)  // replay
            #expect(try await p.deliver(second) == 200)
            #expect(try await p.deliver(first) == 200)  // late, out of order
            let refunds = try await p.entries(.refund)
            #expect(refunds.map(\.totalDelta.value).sorted() == [-MicroCredits.credits(250).value, -MicroCredits.credits(250).value])
            #expect(try await p.purchase(purchaseID)?.refundedAmount == 500)
            #expect(try await p.h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func aDisputeTakesTheCreditsBackPausesTopUpAndAWonDisputeRestoresThem() async throws {
        try await withPayments { p in
            let purchaseID = try await p.buy("starter")
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":100,"pack":"starter","monthly_limit":50}"#)
            let chargeID = try #require(try await p.purchase(purchaseID)?.chargeID)
            let before = try await p.balance()
            let opened = try p.stripe.openDispute(chargeID: chargeID)
            #expect(try await p.deliver(opened) == 200)
            #expect(try await p.deliver(opened) == 200)
            #expect(try await p.balance().regular.value == before.regular.value - MicroCredits.credits(1000).value)
            let state = try await p.api(.GET, "/auto-topup")
            #expect(state.json?["state"] as? String == "paused", "\(state.text)")
            #expect((state.json?["last_error"] as? String)?.contains("disput") == true)
            let disputeID = try #require(p.stripe.events.last { $0.type == "charge.dispute.created" }.flatMap { Self.objectID(of: $0) })
            let closed = try p.stripe.closeDispute(disputeID: disputeID, won: true)
            #expect(try await p.deliver(closed) == 200)
            #expect(try await p.deliver(closed) == 200)
            #expect(try await p.balance().regular == before.regular)
            #expect(try await p.entries(.dispute).count == 2)
            // Winning the dispute does not switch auto top-up back on by itself.
            #expect(try await p.api(.GET, "/auto-topup").json?["state"] as? String == "paused")
            #expect(try await p.h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// A refund or dispute reported in another currency than the purchase's would take back a share of its credits
    /// computed across currencies: it is refused (200 `flagged`, a warning naming the ids and no secret), recorded
    /// (a redelivery is a `duplicate`), and no credits move, nor does auto top-up pause.
    @Test func aRefundOrDisputeInAnotherCurrencyThanThePurchaseMovesNoCredits() async throws {
        try await withPayments { p in
            let purchaseID = try await p.buy("starter")  // $10.00 → 1000 credits
            _ = try await p.api(.PUT, "/auto-topup", body: #"{"enabled":true,"threshold_credits":100,"pack":"starter","monthly_limit":50}"#)
            let topUp = try await p.api(.GET, "/auto-topup").json?["state"] as? String
            let chargeID = try #require(try await p.purchase(purchaseID)?.chargeID)
            let before = try await p.balance()
            let refund = try p.stripe.refund(chargeID: chargeID, amount: 250, currencyOverride: "eur")
            let opened = try p.stripe.openDispute(chargeID: chargeID, currencyOverride: "eur")
            let disputeID = try #require(Self.objectID(of: opened))
            // Closed as lost before it was seen open: applied, it would take the disputed share.
            let lost = try p.stripe.closeDispute(disputeID: disputeID, won: false)
            for event in [refund, opened, lost] {
                #expect(try await Self.post(event, to: p).json?["outcome"] as? String == "flagged", "\(event.type)")
                #expect(try await Self.post(event, to: p).json?["outcome"] as? String == "duplicate", "\(event.type) was recorded")
                let warning = p.h.logs.all.first { $0.contains("does not match") && $0.contains(event.id) }
                #expect(warning?.contains(purchaseID) == true && warning?.contains("eur") == true, "\(event.type): \(warning ?? "no warning")")
                for secret in [PaymentHarness.webhookSecret, PaymentHarness.stripeSecret] {
                    #expect(warning?.contains(secret) == false, "no secret in the warning")
                }
            }
            #expect(try await p.balance() == before)
            #expect(try await p.entries(.refund).isEmpty)
            #expect(try await p.entries(.dispute).isEmpty)
            let purchase = try await p.purchase(purchaseID)
            #expect(purchase?.status == .succeeded && purchase?.refundedAmount == 0)
            #expect(try await p.api(.GET, "/auto-topup").json?["state"] as? String == topUp)
            #expect(try await p.h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func unknownEventTypesAreAcknowledgedAndIgnored() async throws {
        try await withPayments { p in
            let body = Array(
                #"{"id":"evt_other","object":"event","type":"customer.subscription.created","created":1,"data":{"object":{"id":"sub_1"}}}"#.utf8)
            let header = p.stripe.signedHeader(for: body, secret: PaymentHarness.webhookSecret, timestamp: Int64(Date().timeIntervalSince1970))
            let reply = try await p.h.request(
                .POST, "/webhooks/stripe", body: String(decoding: body, as: UTF8.self), key: .some(nil), headers: [("stripe-signature", header)])
            #expect(reply.status == 200)
            #expect(reply.json?["outcome"] as? String == "ignored")
        }
    }

    /// Delivers `event` signed with the gateway's secret; returns the whole reply (its `outcome`).
    static func post(_ event: FakeStripeEvent, to p: PaymentHarness) async throws -> GatewayHarness.Reply {
        let header = p.stripe.signedHeader(for: event.json, secret: PaymentHarness.webhookSecret, timestamp: Int64(Date().timeIntervalSince1970))
        return try await p.h.request(
            .POST, "/webhooks/stripe", body: String(decoding: event.json, as: UTF8.self), key: .some(nil),
            headers: [("content-type", "application/json"), ("stripe-signature", header)])
    }

    static func objectID(of event: FakeStripeEvent) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any]
        return ((json?["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String
    }
}
