import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import KeygateFakeUpstream

/// The fake Stripe itself: it must refuse what Stripe refuses, replay idempotent answers, decline like the
/// test cards, and sign events so that an independent HMAC verifies them. Keygate's payment tests rely on it.
@Suite struct FakeStripeTests {
    static let secret = "sk_test_fakeStripeSECRET0123456789"

    /// A running fake and a way to call it as a Stripe client would.
    struct Running {
        let stripe: FakeStripe
        let port: Int

        struct Reply {
            var status: Int
            var headers: HTTPHeaders
            var body: [UInt8]
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
            var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
            var id: String { json["id"] as? String ?? "" }
            var text: String { String(decoding: body, as: UTF8.self) }
        }

        func call(
            _ method: HTTPMethod, _ path: String, _ parameters: [(String, String)] = [], key: String? = FakeStripeTests.secret,
            idempotencyKey: String? = nil
        ) async throws -> Reply {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            let form = parameters.map {
                $0.0.addingPercentEncoding(withAllowedCharacters: allowed)! + "=" + $0.1.addingPercentEncoding(withAllowedCharacters: allowed)!
            }.joined(separator: "&")
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)" + (method == .GET && !form.isEmpty ? "?" + form : ""))
            request.method = method
            if let key { request.headers.add(name: "Authorization", value: "Bearer " + key) }
            request.headers.add(name: "Stripe-Version", value: "2026-09-30.endive")
            if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
            if method == .POST {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: form))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return Reply(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
        }

        func customer() async throws -> String {
            let reply = try await call(.POST, "/v1/customers", [("email", "org@example.com"), ("metadata[keygate_org]", "org_1")])
            #expect(reply.status == 200)
            return reply.id
        }

        /// Keygate's off-session top-up, parameter for parameter.
        func topUp(customer: String, paymentMethod: String, key: String, amount: Int = 2000) async throws -> Reply {
            try await call(
                .POST, "/v1/payment_intents",
                [
                    ("amount", "\(amount)"), ("currency", "usd"), ("customer", customer), ("payment_method", paymentMethod),
                    ("off_session", "true"), ("confirm", "true"), ("payment_method_types[0]", "card"),
                    ("metadata[keygate_org]", "org_1"), ("metadata[keygate_purchase]", "pur_1"),
                ], idempotencyKey: key)
        }

        func checkout(customer: String, key: String = UUID().uuidString) async throws -> Reply {
            try await call(
                .POST, "/v1/checkout/sessions",
                [
                    ("mode", "payment"), ("line_items[0][price_data][currency]", "usd"), ("line_items[0][price_data][unit_amount]", "1900"),
                    ("line_items[0][price_data][product_data][name]", "2,000 credits"), ("line_items[0][quantity]", "1"),
                    ("customer", customer), ("client_reference_id", "org_1"), ("metadata[keygate_purchase]", "pur_1"),
                    ("payment_intent_data[setup_future_usage]", "off_session"), ("payment_intent_data[metadata][keygate_purchase]", "pur_1"),
                    ("success_url", "https://keygate.example/buy/done?session={CHECKOUT_SESSION_ID}"),
                    ("cancel_url", "https://keygate.example/buy"),
                ], idempotencyKey: key)
        }
    }

    func withFakeStripe(_ body: (Running) async throws -> Void) async throws {
        let stripe = FakeStripe(secretKey: Self.secret)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await stripe.run(port: 0) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        defer { task.cancel() }
        try await body(Running(stripe: stripe, port: port))
    }

    static func object(_ json: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] ?? [:]
    }

    @Test func refusesMissingAndWrongKeysShowingOnlyTheLastFourCharacters() async throws {
        try await withFakeStripe { fake in
            let missing = try await fake.call(.POST, "/v1/customers", [("email", "a@example.com")], key: nil)
            #expect(missing.status == 401)
            #expect((missing.error["message"] as? String)?.hasPrefix("You did not provide an API key.") == true)
            let wrong = try await fake.call(.POST, "/v1/customers", [("email", "a@example.com")], key: "sk_test_wrongSECRETkey1234")
            #expect(wrong.status == 401)
            #expect(wrong.error["type"] as? String == "invalid_request_error")
            #expect(wrong.error["message"] as? String == "Invalid API Key provided: sk_test_**************1234")
            #expect(!wrong.text.contains("SECRET"))
            let right = try await fake.call(.POST, "/v1/customers", [("email", "a@example.com")])
            #expect(right.status == 200)
            #expect(right.id.hasPrefix("cus_"))
            #expect(right.json["object"] as? String == "customer")
            #expect(right.json["livemode"] as? Bool == false)
        }
    }

    @Test func refusesUnknownParametersAtAnyDepthAndMistypedOrMissingValues() async throws {
        try await withFakeStripe { fake in
            let unknown = try await fake.call(.POST, "/v1/customers", [("email", "a@example.com"), ("colour", "red")])
            #expect(unknown.status == 400)
            #expect(unknown.error["message"] as? String == "Received unknown parameter: colour")
            #expect(unknown.error["param"] as? String == "colour")
            #expect(unknown.error["code"] as? String == "parameter_unknown")

            let customer = try await fake.customer()
            let nested = try await fake.call(
                .POST, "/v1/checkout/sessions",
                [
                    ("mode", "payment"), ("line_items[0][price_data][currency]", "usd"), ("line_items[0][price_data][unit_amount]", "1900"),
                    ("line_items[0][price_data][product_data][name]", "Pack"), ("line_items[0][price_data][colour]", "red"),
                    ("line_items[0][quantity]", "1"), ("customer", customer), ("success_url", "https://keygate.example/done"),
                ])
            #expect(nested.status == 400)
            #expect(nested.error["param"] as? String == "line_items[0][price_data][colour]")

            let noSuccessURL = try await fake.call(
                .POST, "/v1/checkout/sessions",
                [
                    ("mode", "payment"), ("line_items[0][price_data][currency]", "usd"), ("line_items[0][price_data][unit_amount]", "1900"),
                    ("line_items[0][price_data][product_data][name]", "Pack"), ("line_items[0][quantity]", "1"),
                ])
            #expect(noSuccessURL.status == 400)
            #expect(noSuccessURL.error["code"] as? String == "parameter_missing")
            #expect(noSuccessURL.error["param"] as? String == "success_url")

            let badMode = try await fake.call(.POST, "/v1/checkout/sessions", [("mode", "paymnet")])
            #expect(badMode.status == 400 && badMode.error["param"] as? String == "mode")

            let fractional = try await fake.call(.POST, "/v1/payment_intents", [("amount", "19.5"), ("currency", "usd")])
            #expect(fractional.status == 400)
            #expect(fractional.error["code"] as? String == "parameter_invalid_integer")
            #expect(fractional.error["param"] as? String == "amount")

            let noCurrency = try await fake.call(.POST, "/v1/payment_intents", [("amount", "2000")])
            #expect(noCurrency.error["code"] as? String == "parameter_missing")
            #expect(noCurrency.error["param"] as? String == "currency")

            let offSessionAlone = try await fake.call(
                .POST, "/v1/payment_intents", [("amount", "2000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("off_session", "true")])
            #expect(offSessionAlone.status == 400 && offSessionAlone.error["param"] as? String == "off_session")

            let notBoolean = try await fake.call(.POST, "/v1/payment_intents", [("amount", "2000"), ("currency", "usd"), ("confirm", "yes")])
            #expect(notBoolean.status == 400 && notBoolean.error["param"] as? String == "confirm")

            let noCustomer = try await fake.topUp(customer: "cus_missing", paymentMethod: "pm_card_visa", key: "k-missing")
            #expect(noCustomer.status == 400)
            #expect(noCustomer.error["code"] as? String == "resource_missing" && noCustomer.error["param"] as? String == "customer")

            let unknownID = try await fake.call(.GET, "/v1/customers/cus_nothere")
            #expect(unknownID.status == 404)
            #expect(fake.stripe.events.isEmpty)
        }
    }

    @Test func idempotentReplayReturnsTheFirstAnswerExactlyAndCreatesNothingMore() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let first = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "topup-pur_1")
            #expect(first.status == 200)
            #expect(first.json["status"] as? String == "succeeded")
            let again = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "topup-pur_1")
            #expect(again.status == first.status)
            #expect(again.text == first.text)
            #expect(again.headers["Idempotent-Replayed"].first == "true")
            #expect(first.headers["Idempotent-Replayed"].isEmpty)
            #expect(fake.stripe.events.filter { $0.type == "payment_intent.succeeded" }.count == 1)

            // The same key with other parameters is refused, and still creates nothing.
            let other = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "topup-pur_1", amount: 5000)
            #expect(other.status == 400)
            #expect(other.error["type"] as? String == "idempotency_error")
            #expect(fake.stripe.events.count == 1)

            // A request refused by validation keeps no answer: the key can be used again, fixed.
            let invalid = try await fake.call(.POST, "/v1/customers", [("emial", "a@example.com")], idempotencyKey: "customer-2")
            #expect(invalid.status == 400)
            let fixed = try await fake.call(.POST, "/v1/customers", [("email", "a@example.com")], idempotencyKey: "customer-2")
            #expect(fixed.status == 200)

            let recorded = fake.stripe.requests.filter { $0.method == "POST" }
            #expect(recorded.count == 6)
            #expect(recorded.allSatisfy { $0.stripeVersion == "2026-09-30.endive" })
            #expect(recorded.dropFirst().allSatisfy { $0.idempotencyKey != nil })
            #expect(recorded[1][parameter: "metadata[keygate_purchase]"] == "pur_1")
            #expect(recorded[1][parameter: "payment_method_types[0]"] == "card")
        }
    }

    @Test func declinesLikeStripesTestCards() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let declined = try await fake.topUp(customer: customer, paymentMethod: "pm_card_chargeDeclined", key: "k1")
            #expect(declined.status == 402)
            #expect(declined.error["type"] as? String == "card_error")
            #expect(declined.error["code"] as? String == "card_declined")
            #expect(declined.error["decline_code"] as? String == "generic_decline")
            #expect(declined.error["message"] as? String == "Your card was declined.")
            let charge = try #require(declined.error["charge"] as? String)
            #expect(charge.hasPrefix("ch_"))
            let intent = try #require(declined.error["payment_intent"] as? [String: Any])
            #expect(intent["status"] as? String == "requires_payment_method")
            #expect((intent["last_payment_error"] as? [String: Any])?["decline_code"] as? String == "generic_decline")
            #expect((intent["metadata"] as? [String: String])?["keygate_purchase"] == "pur_1")
            let failedCharge = try await fake.call(.GET, "/v1/charges/\(charge)")
            #expect(failedCharge.json["status"] as? String == "failed")

            let poor = try await fake.topUp(customer: customer, paymentMethod: "pm_card_chargeDeclinedInsufficientFunds", key: "k2")
            #expect(poor.status == 402)
            #expect(poor.error["code"] as? String == "card_declined")
            #expect(poor.error["decline_code"] as? String == "insufficient_funds")

            let authentication = try await fake.topUp(customer: customer, paymentMethod: "pm_card_authenticationRequired", key: "k3")
            #expect(authentication.status == 402)
            #expect(authentication.error["type"] as? String == "card_error")
            #expect(authentication.error["code"] as? String == "authentication_required")
            #expect((authentication.error["payment_intent"] as? [String: Any])?["status"] as? String == "requires_payment_method")

            let paid = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "k4")
            #expect(paid.status == 200)
            #expect(paid.id.hasPrefix("pi_"))
            let latest = try #require(paid.json["latest_charge"] as? String)
            let paidCharge = try await fake.call(.GET, "/v1/charges/\(latest)")
            #expect(paidCharge.json["status"] as? String == "succeeded")
            #expect(paidCharge.json["amount"] as? Int == 2000)
            let fetched = try await fake.call(.GET, "/v1/payment_intents/\(paid.id)")
            #expect(fetched.text == paid.text)

            #expect(
                fake.stripe.events.map(\.type) == [
                    "payment_intent.payment_failed", "payment_intent.payment_failed", "payment_intent.payment_failed", "payment_intent.succeeded",
                ])
        }
    }

    @Test func checkoutRefundAndDisputeProduceStripesEvents() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let session = try await fake.checkout(customer: customer)
            #expect(session.status == 200)
            #expect(session.id.hasPrefix("cs_test_"))
            #expect(session.json["status"] as? String == "open" && session.json["amount_total"] as? Int == 1900)
            #expect((session.json["url"] as? String)?.hasPrefix("https://checkout.stripe.com/") == true)

            let completed = try fake.stripe.completeCheckout(sessionID: session.id)
            #expect(completed.type == "checkout.session.completed")
            let event = Self.object(completed.json)
            #expect(event["object"] as? String == "event" && event["api_version"] as? String == "2026-09-30.endive")
            #expect(event["livemode"] as? Bool == false && event["pending_webhooks"] as? Int == 1)
            let paidSession = try #require((event["data"] as? [String: Any])?["object"] as? [String: Any])
            #expect(paidSession["payment_status"] as? String == "paid" && paidSession["status"] as? String == "complete")
            let intentID = try #require(paidSession["payment_intent"] as? String)
            let intent = try await fake.call(.GET, "/v1/payment_intents/\(intentID)")
            #expect((intent.json["metadata"] as? [String: String])?["keygate_purchase"] == "pur_1")
            let savedCard = try #require(intent.json["payment_method"] as? String)
            let card = try await fake.call(.GET, "/v1/payment_methods/\(savedCard)")
            #expect(card.json["customer"] as? String == customer)
            let listed = try await fake.call(.GET, "/v1/payment_methods", [("customer", customer), ("type", "card")])
            #expect((listed.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [savedCard])
            #expect(try await fake.topUp(customer: customer, paymentMethod: savedCard, key: "t1").status == 200)

            let chargeID = try #require(intent.json["latest_charge"] as? String)
            let partial = Self.object(try fake.stripe.refund(chargeID: chargeID, amount: 500).json)
            let partialCharge = (partial["data"] as? [String: Any])?["object"] as? [String: Any]
            #expect(partialCharge?["amount_refunded"] as? Int == 500 && partialCharge?["refunded"] as? Bool == false)
            let rest = Self.object(try fake.stripe.refund(chargeID: chargeID).json)
            let fullCharge = (rest["data"] as? [String: Any])?["object"] as? [String: Any]
            #expect(fullCharge?["amount_refunded"] as? Int == 1900 && fullCharge?["refunded"] as? Bool == true)
            #expect(throws: FakeStripeError.self) { try fake.stripe.refund(chargeID: chargeID, amount: 1) }

            let other = try await fake.checkout(customer: customer)
            let otherCharge = try #require(
                (Self.object(try fake.stripe.completeCheckout(sessionID: other.id).json)["data"] as? [String: Any]).flatMap {
                    ($0["object"] as? [String: Any])?["payment_intent"] as? String
                })
            let otherIntent = try await fake.call(.GET, "/v1/payment_intents/\(otherCharge)")
            let disputed = try #require(otherIntent.json["latest_charge"] as? String)
            let opened = Self.object(try fake.stripe.openDispute(chargeID: disputed).json)
            let dispute = try #require((opened["data"] as? [String: Any])?["object"] as? [String: Any])
            #expect(dispute["status"] as? String == "needs_response" && dispute["amount"] as? Int == 1900)
            #expect(dispute["charge"] as? String == disputed && dispute["payment_intent"] as? String == otherCharge)
            let disputeID = try #require(dispute["id"] as? String)
            #expect(disputeID.hasPrefix("du_"))
            let closed = Self.object(try fake.stripe.closeDispute(disputeID: disputeID, won: true).json)
            #expect(((closed["data"] as? [String: Any])?["object"] as? [String: Any])?["status"] as? String == "won")

            let expiring = try await fake.checkout(customer: customer)
            #expect(try fake.stripe.expireCheckout(sessionID: expiring.id).type == "checkout.session.expired")
            #expect(throws: FakeStripeError.self) { try fake.stripe.completeCheckout(sessionID: expiring.id) }

            #expect(
                fake.stripe.events.map(\.type) == [
                    "payment_intent.succeeded", "checkout.session.completed", "payment_intent.succeeded", "charge.refunded", "charge.refunded",
                    "payment_intent.succeeded", "checkout.session.completed", "charge.dispute.created", "charge.dispute.closed",
                    "checkout.session.expired",
                ])
            #expect(Set(fake.stripe.events.map(\.id)).count == 10)
        }
    }

    @Test func aCardSavedFromADecliningTestCardDeclinesTheTopUp() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let session = try await fake.checkout(customer: customer)
            let event = Self.object(try fake.stripe.completeCheckout(sessionID: session.id, paymentMethod: "pm_card_chargeDeclined").json)
            let intentID = try #require(((event["data"] as? [String: Any])?["object"] as? [String: Any])?["payment_intent"] as? String)
            let saved = try #require((try await fake.call(.GET, "/v1/payment_intents/\(intentID)")).json["payment_method"] as? String)
            let declined = try await fake.topUp(customer: customer, paymentMethod: saved, key: "t-declined")
            #expect(declined.status == 402 && declined.error["code"] as? String == "card_declined")
            // Another customer cannot use it.
            let stranger = try await fake.customer()
            let refused = try await fake.topUp(customer: stranger, paymentMethod: saved, key: "t-stranger")
            #expect(refused.status == 400 && refused.error["param"] as? String == "payment_method")
        }
    }

    @Test func unpaidCheckoutSettlesLater() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let session = try await fake.checkout(customer: customer)
            let completed = Self.object(try fake.stripe.completeCheckout(sessionID: session.id, paid: false).json)
            #expect(((completed["data"] as? [String: Any])?["object"] as? [String: Any])?["payment_status"] as? String == "unpaid")
            let settled = try fake.stripe.asyncPaymentSucceeded(sessionID: session.id)
            #expect(settled.type == "checkout.session.async_payment_succeeded")
            #expect(((Self.object(settled.json)["data"] as? [String: Any])?["object"] as? [String: Any])?["payment_status"] as? String == "paid")
            #expect(throws: FakeStripeError.self) { try fake.stripe.asyncPaymentFailed(sessionID: session.id) }
        }
    }

    @Test func injectedFaultsRateLimitWithoutEffectAndLoseAnswersThatAReplayRecovers() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            fake.stripe.failNext(1, status: 429)
            let limited = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "f1")
            #expect(limited.status == 429)
            #expect(limited.error["code"] as? String == "rate_limit")
            #expect(fake.stripe.events.isEmpty)

            fake.stripe.failNext(1, status: 500)
            let lost = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "f1")
            #expect(lost.status == 500)
            #expect(lost.error["type"] as? String == "api_error")
            #expect(fake.stripe.events.count == 1)
            let retried = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "f1")
            #expect(retried.status == 200)
            #expect(retried.headers["Idempotent-Replayed"].first == "true")
            #expect(fake.stripe.events.count == 1)

            fake.stripe.delayNext(0.3)
            let started = ContinuousClock.now
            #expect(try await fake.call(.GET, "/v1/customers/\(customer)").status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(300))
        }
    }

    @Test func scriptsDriveTheHelpersThroughTheControlRoutes() async throws {
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            let session = try await fake.checkout(customer: customer)
            let completed = try await fake.call(
                .POST, "/_fake/stripe/checkout/\(session.id)/complete", [("payment_method", "pm_card_visa"), ("paid", "true")], key: nil)
            #expect(completed.status == 200)
            #expect(completed.json["type"] as? String == "checkout.session.completed")
            let intentID = try #require(((completed.json["data"] as? [String: Any])?["object"] as? [String: Any])?["payment_intent"] as? String)
            let charge = try #require((try await fake.call(.GET, "/v1/payment_intents/\(intentID)")).json["latest_charge"] as? String)
            let refunded = try await fake.call(.POST, "/_fake/stripe/charges/\(charge)/refund", [("amount", "100")], key: nil)
            #expect(refunded.json["type"] as? String == "charge.refunded")
            let disputed = try await fake.call(.POST, "/_fake/stripe/charges/\(charge)/dispute", key: nil)
            let dispute = try #require(((disputed.json["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String)
            let closed = try await fake.call(.POST, "/_fake/stripe/disputes/\(dispute)/close", [("won", "false")], key: nil)
            #expect(((closed.json["data"] as? [String: Any])?["object"] as? [String: Any])?["status"] as? String == "lost")
            let unknown = try await fake.call(.POST, "/_fake/stripe/charges/ch_nothere/refund", key: nil)
            #expect(unknown.status == 400)
            let listed = try await fake.call(.GET, "/_fake/stripe/events", key: nil)
            let types = ((try? JSONSerialization.jsonObject(with: Data(listed.body))) as? [[String: Any]])?.compactMap { $0["type"] as? String }
            #expect(types == fake.stripe.events.map(\.type))
            #expect(types?.count == 5)
            // Control calls are not API requests: only the API calls are recorded.
            #expect(fake.stripe.requests.allSatisfy { $0.path.hasPrefix("/v1/") })
        }
    }

    @Test func parsesBracketNestingAndPercentEncoding() throws {
        let form = try StripeForm.parse(Array("a%5Bb%5D%5Bc%5D=x+y&list[]=one&list[]=two&items[1][k]=second&items[0][k]=first%26".utf8))
        #expect(form.root["a"]?["b"]?["c"]?.text == "x y")
        #expect(form.root["list"]?.elements?.map(\.text) == ["one", "two"])
        #expect(form.root["items"]?.elements?.map { $0["k"]?.text } == ["first&", "second"])
        #expect(form.pairs.first?.key == "a[b][c]")
        #expect(throws: StripeAnswer.self) { try StripeForm.parse(Array("a[b=1".utf8)) }
    }

    @Test func eventsAreSignedAsStripeSignsThem() async throws {
        let stripe = FakeStripe(secretKey: Self.secret)
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let header = stripe.signedHeader(for: body, secret: "whsec_test", timestamp: 1_700_000_000)
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1700000000.".utf8) + body, using: SymmetricKey(data: Array("whsec_test".utf8)))
        #expect(header == "t=1700000000,v1=" + expected.map { String(format: "%02x", $0) }.joined())

        // Delivered: the exact bytes, the signature over them, Stripe's content type.
        let received = Mutex<[(headers: HTTPFields, body: [UInt8])]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append((request.headers, Array(bytes.readableBytesView))) }
            return .ok
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: Logger(label: "webhook-listener", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await app.run() }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await withFakeStripe { fake in
            let customer = try await fake.customer()
            _ = try await fake.topUp(customer: customer, paymentMethod: "pm_card_visa", key: "s1")
            let event = try #require(fake.stripe.events.first)
            let status = try await fake.stripe.deliver(
                event, to: "http://127.0.0.1:\(port)/hook", secret: "whsec_test", timestamp: 1_700_000_123, extraSignatures: ["00ff"])
            #expect(status == 200)
            let delivery = try #require(received.withLock { $0.first })
            #expect(delivery.body == event.json)
            #expect(delivery.headers[.contentType] == "application/json; charset=utf-8")
            let signature = try #require(delivery.headers[HTTPField.Name("Stripe-Signature")!])
            let mac = HMAC<SHA256>.authenticationCode(
                for: Array("1700000123.".utf8) + delivery.body, using: SymmetricKey(data: Array("whsec_test".utf8)))
            #expect(signature == "t=1700000123,v1=00ff,v1=" + mac.map { String(format: "%02x", $0) }.joined())
        }
    }
}
