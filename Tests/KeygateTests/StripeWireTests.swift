import Crypto
import Foundation
import KeygateCore
import Testing
@testable import KeygateStripe

@Suite struct StripeFormTests {
    @Test func nestedObjectsAndArraysFlattenWithBracketsInOrder() {
        let form = StripeForm([
            ("mode", .string("payment")),
            (
                "line_items",
                .array([
                    .object([
                        ("price_data", .object([("currency", .string("usd")), ("unit_amount", .integer(4750))])),
                        ("quantity", .integer(1)),
                    ])
                ])
            ),
            ("payment_method_types", .array([.string("card"), .string("link")])),
            ("empty", .object([])),
            ("flag", .boolean(true)),
        ])
        #expect(
            form.names == [
                "mode", "line_items[0][price_data][currency]", "line_items[0][price_data][unit_amount]", "line_items[0][quantity]",
                "payment_method_types[0]", "payment_method_types[1]", "flag",
            ])
        #expect(
            form.encoded == "mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd"
                + "&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=4750&line_items%5B0%5D%5Bquantity%5D=1"
                + "&payment_method_types%5B0%5D=card&payment_method_types%5B1%5D=link&flag=true")
    }

    @Test func everythingOutsideUnreservedIsPercentEncoded() {
        let form = StripeForm([
            ("name", .string("Pro: 20,000 credits & more = 100% é")), ("url", .string("https://x.test/ok?s={CHECKOUT_SESSION_ID}")),
            ("safe", .string("aZ09-._~")),
        ])
        #expect(
            form.encoded == "name=Pro%3A%2020%2C000%20credits%20%26%20more%20%3D%20100%25%20%C3%A9"
                + "&url=https%3A%2F%2Fx.test%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D&safe=aZ09-._~")
        #expect(StripeForm().encoded == "")
    }

    @Test func metadataIsSortedByKey() {
        let form = StripeForm([("metadata", .metadata(["b": "2", "a": "1"]))])
        #expect(form.names == ["metadata[a]", "metadata[b]"])
    }
}

@Suite struct StripeRequestTests {
    let pack = CreditPack(id: "standard", credits: 5000, price: 4750, currency: "usd", label: "Standard: 5,000 credits")

    /// Decodes an encoded body back into (name, value) pairs, as Stripe would.
    func decoded(_ body: [UInt8]?) -> [(String, String)] {
        let text = String(decoding: body ?? [], as: UTF8.self)
        return text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]).removingPercentEncoding!, String(parts[1]).removingPercentEncoding!)
        }
    }

    @Test func checkoutSessionSendsExactlyTheReferenceFields() {
        let request = StripeRequests.createCheckoutSession(
            purchaseID: "pur_1", organizationID: "org_9", customerID: "cus_A", pack: pack,
            successURL: "https://gw.test/done?session={CHECKOUT_SESSION_ID}", cancelURL: "https://gw.test/cancel")
        #expect(request.method == "POST")
        #expect(request.path == "/v1/checkout/sessions")
        #expect(request.idempotencyKey == "keygate-checkout-pur_1")
        let fields = decoded(request.body)
        let expected: [(String, String)] = [
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "4750"),
            ("line_items[0][price_data][product_data][name]", "Standard: 5,000 credits"),
            ("line_items[0][quantity]", "1"),
            ("customer", "cus_A"),
            ("client_reference_id", "pur_1"),
            ("metadata[keygate_org]", "org_9"),
            ("metadata[keygate_purchase]", "pur_1"),
            ("payment_intent_data[setup_future_usage]", "off_session"),
            ("payment_intent_data[metadata][keygate_org]", "org_9"),
            ("payment_intent_data[metadata][keygate_purchase]", "pur_1"),
            ("success_url", "https://gw.test/done?session={CHECKOUT_SESSION_ID}"),
            ("cancel_url", "https://gw.test/cancel"),
        ]
        #expect(fields.map(\.0) == expected.map(\.0))
        #expect(fields.map(\.1) == expected.map(\.1))
        #expect(request.pathAndQuery == "/v1/checkout/sessions")
    }

    @Test func topUpIsAnOffSessionConfirmedCardIntentWithItsOwnKey() {
        let request = StripeRequests.createTopUpPaymentIntent(
            purchaseID: "pur_7", organizationID: "org_9", customerID: "cus_A", paymentMethodID: "pm_1", amount: 18_000, currency: "usd")
        #expect(request.path == "/v1/payment_intents")
        #expect(request.idempotencyKey == "keygate-topup-pur_7")
        let fields = decoded(request.body)
        #expect(
            fields.map(\.0) == [
                "amount", "currency", "customer", "payment_method", "off_session", "confirm", "payment_method_types[0]",
                "metadata[keygate_org]", "metadata[keygate_purchase]",
            ])
        #expect(fields.map(\.1) == ["18000", "usd", "cus_A", "pm_1", "true", "true", "card", "org_9", "pur_7"])
    }

    @Test func customerKeyDependsOnlyOnTheOrganization() {
        let first = StripeRequests.createCustomer(organizationID: "org_9", slug: "acme", name: "Acme")
        let second = StripeRequests.createCustomer(organizationID: "org_9", slug: "acme", name: "Acme")
        #expect(first.idempotencyKey == "keygate-customer-org_9")
        #expect(first.idempotencyKey == second.idempotencyKey)
        #expect(first.form["metadata[keygate_org]"] == "org_9")
        #expect(first.form["name"] == "Acme")
        #expect(first.form.names == ["name", "metadata[keygate_org]", "metadata[keygate_slug]"])
        #expect(first.path == "/v1/customers")
    }

    @Test func retrievalsAreKeylessGets() {
        let intent = StripeRequests.retrievePaymentIntent(id: "pi_123")
        #expect(intent.method == "GET" && intent.path == "/v1/payment_intents/pi_123" && intent.idempotencyKey == nil && intent.body == nil)
        let session = StripeRequests.retrieveCheckoutSession(id: "cs_test_a1")
        #expect(session.method == "GET" && session.path == "/v1/checkout/sessions/cs_test_a1" && session.idempotencyKey == nil)
        // An id can never escape its path segment.
        #expect(StripeRequests.retrievePaymentIntent(id: "../customers").path == "/v1/payment_intents/..%2Fcustomers")
        #expect(StripeAPIVersion.pinned == "2026-09-30.endive")
    }
}

@Suite struct StripeSignatureTests {
    let secret = "whsec_test_keygate"
    let payload = Array(#"{"id":"evt_1","type":"checkout.session.completed"}"#.utf8)
    let now: Int64 = 1_790_000_000

    func verify(_ header: String?, payload: [UInt8]? = nil, secret: String? = nil) -> StripeSignatureError? {
        do {
            try StripeWebhookSignature.verify(payload: payload ?? self.payload, header: header, secret: secret ?? self.secret, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func matchesAnIndependentHMAC() {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(now).".utf8) + payload, using: SymmetricKey(data: Array(secret.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        #expect(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now) == "t=\(now),v1=\(hex)")
    }

    @Test func validSignatureIsAccepted() {
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now)) == nil)
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now - 300)) == nil)
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now + 300)) == nil)
    }

    @Test func wrongSecretIsRefused() {
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: "whsec_other", timestamp: now)) == .noValidSignature)
    }

    @Test func staleAndFutureTimestampsAreRefused() {
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now - 301)) == .timestampOutsideTolerance)
        #expect(verify(StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now + 301)) == .timestampOutsideTolerance)
    }

    @Test func tamperedBodyIsRefused() {
        let header = StripeWebhookSignature.header(payload: payload, secret: secret, timestamp: now)
        var tampered = payload
        tampered[tampered.count - 3] ^= 0x01
        #expect(verify(header, payload: tampered) == .noValidSignature)
        // Re-signing the body with another timestamp in the header but the old signature: refused too.
        let signature = StripeWebhookSignature.signature(payload: payload, secret: secret, timestamp: now)
        #expect(verify("t=\(now - 1),v1=\(signature)") == .noValidSignature)
    }

    @Test func anyOfSeveralV1InAnyOrderMayMatch() {
        let good = StripeWebhookSignature.signature(payload: payload, secret: secret, timestamp: now)
        let bad = StripeWebhookSignature.signature(payload: payload, secret: "whsec_old", timestamp: now)
        #expect(verify("v1=\(bad), t=\(now), v0=abc, v1=\(good), x9=whatever") == nil)
        #expect(verify("t=\(now),v1=\(bad),v1=nothex,v0=\(good)") == .noValidSignature)  // v0 is not a scheme we accept
    }

    @Test func missingOrMalformedHeaderIsRefused() {
        let good = StripeWebhookSignature.signature(payload: payload, secret: secret, timestamp: now)
        #expect(verify(nil) == .missingHeader)
        #expect(verify("  ") == .missingHeader)
        #expect(verify("v1=\(good)") == .malformedHeader)
        #expect(verify("t=\(now)") == .malformedHeader)
        #expect(verify("t=abc,v1=\(good)") == .malformedHeader)
        #expect(verify("t=\(now),t=\(now),v1=\(good)") == .malformedHeader)
        #expect(verify("t=\(now);v1=\(good)") == .malformedHeader)
        #expect(verify("garbage") == .malformedHeader)
    }

    @Test func descriptionsNeverEchoTheSecretOrSignature() {
        let good = StripeWebhookSignature.signature(payload: payload, secret: secret, timestamp: now)
        for error in [StripeSignatureError.missingHeader, .malformedHeader, .noValidSignature, .timestampOutsideTolerance] {
            #expect(!error.description.contains(secret) && !error.description.contains(good) && !error.description.isEmpty)
        }
    }
}

@Suite struct StripeErrorTests {
    func error(_ status: Int, _ body: String) -> StripeAPIError { StripeAPIError(httpStatus: status, body: Array(body.utf8)) }

    @Test func realCardDeclineWithDeclineCode() {
        let e = error(
            402,
            #"""
            {"error":{"charge":"ch_3Q","code":"card_declined","decline_code":"insufficient_funds",
            "doc_url":"https://stripe.com/docs/error-codes/card-declined","message":"Your card has insufficient funds.",
            "payment_intent":{"id":"pi_3Q","object":"payment_intent","status":"requires_payment_method","amount":18000,"currency":"usd"},
            "request_log_url":"https://dashboard.stripe.com/test/logs/req_x","type":"card_error"}}
            """#)
        #expect(e.kind == .cardDeclined)
        #expect(e.declineCode == "insufficient_funds" && e.paymentIntentID == "pi_3Q" && e.chargeID == "ch_3Q" && e.type == "card_error")
        #expect(e.customerFacingReason == "Your card was declined (insufficient funds)")
        #expect(!e.isRetryable)
    }

    @Test func localstripeDeclineIsStillADecline() {
        let e = error(402, #"{"error":{"code":"card_declined","charge":"ch_x","message":"Your card was declined.","type":"invalid_request_error"}}"#)
        #expect(e.kind == .cardDeclined)
        #expect(e.customerFacingReason == "Your card was declined")
        #expect(e.paymentIntentID == nil && e.chargeID == "ch_x")
    }

    @Test func authenticationRequiredAsksForCheckout() {
        let e = error(
            402,
            #"{"error":{"code":"authentication_required","decline_code":"authentication_required","type":"card_error","#
                + #""payment_intent":{"id":"pi_9","status":"requires_payment_method"},"message":"This payment requires authentication."}}"#)
        #expect(e.kind == .authenticationRequired)
        #expect(e.customerFacingReason.contains("authenticate") && e.customerFacingReason.contains("checkout"))
        #expect(e.paymentIntentID == "pi_9")
    }

    @Test func statusClassesAndRetries() {
        #expect(error(429, #"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}"#).kind == .rateLimited)
        #expect(error(429, "{}").isRetryable)
        #expect(error(500, #"{"error":{"type":"api_error","message":"Something went wrong"}}"#).kind == .serverError)
        #expect(error(503, "<html>bad gateway</html>").kind == .serverError)
        #expect(error(503, "<html>bad gateway</html>").isRetryable)
        let lock = error(409, #"{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"This object cannot be accessed"}}"#)
        #expect(lock.isRetryable && lock.kind == .invalidRequest)
        let reuse = error(400, #"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used once"}}"#)
        #expect(reuse.kind == .idempotency && !reuse.isRetryable)
        let inUse = error(409, #"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}"#)
        #expect(inUse.kind == .idempotency && inUse.isRetryable)
        #expect(error(404, "404: Not Found").kind == .invalidRequest)
        #expect(!error(404, "404: Not Found").isRetryable)
        let missing = error(400, #"{"error":{"type":"invalid_request_error","param":"amount","message":"Missing required param: amount."}}"#)
        #expect(missing.kind == .invalidRequest && missing.param == "amount")
    }

    @Test func wrongKeyIsAnOperatorProblemAndNeverLeaksTheKey() {
        let e = error(401, #"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_51Habcdefghijklmnop"}}"#)
        #expect(e.kind == .authentication)
        #expect(!e.isRetryable)
        #expect(!e.description.contains("sk_test_51Habcdefghijklmnop"))
        #expect(!(e.message ?? "").contains("sk_test_51H"))
        #expect(e.description.contains("HTTP 401"))
        let made = StripeAPIError(httpStatus: 400, message: "echo whsec_abc123 and rk_live_zz")
        #expect(!made.description.contains("whsec_abc123") && !made.description.contains("rk_live_zz"))
    }
}

@Suite struct StripeEventTests {
    func event(_ json: String) throws -> StripePaymentEvent {
        try StripePaymentEvent(try StripeEvent.parse(Array(json.utf8)))
    }

    @Test func checkoutCompletedAsStripeSendsIt() throws {
        let body = #"""
            {
              "id": "evt_1QabcXYZ",
              "object": "event",
              "api_version": "2026-09-30.endive",
              "created": 1790000000,
              "data": {
                "object": {
                  "id": "cs_test_a1B2",
                  "object": "checkout.session",
                  "amount_subtotal": 4750,
                  "amount_total": 4750,
                  "client_reference_id": "pur_1",
                  "currency": "usd",
                  "customer": "cus_A",
                  "customer_details": {"email": "admin@acme.test", "name": null},
                  "expires_at": 1790086400,
                  "livemode": false,
                  "metadata": {"keygate_org": "org_9", "keygate_purchase": "pur_1"},
                  "mode": "payment",
                  "payment_intent": "pi_3Qdef",
                  "payment_status": "paid",
                  "status": "complete",
                  "url": null
                }
              },
              "livemode": false,
              "pending_webhooks": 1,
              "request": {"id": null, "idempotency_key": null},
              "type": "checkout.session.completed"
            }
            """#
        let envelope = try StripeEvent.parse(Array(body.utf8))
        #expect(envelope.id == "evt_1QabcXYZ" && envelope.created == 1_790_000_000 && envelope.apiVersion == "2026-09-30.endive")
        guard case .checkoutCompleted(let session) = try StripePaymentEvent(envelope) else {
            Issue.record("not a completed checkout")
            return
        }
        #expect(
            session
                == StripeCheckoutSession(
                    id: "cs_test_a1B2", url: nil, status: "complete", paymentStatus: "paid", paymentIntentID: "pi_3Qdef", customerID: "cus_A",
                    clientReferenceID: "pur_1", metadata: ["keygate_org": "org_9", "keygate_purchase": "pur_1"], amountTotal: 4750, currency: "usd"))
        #expect(session.isPaid)
    }

    @Test func checkoutVariantsAndExpandedPaymentIntent() throws {
        let object =
            #"{"id":"cs_2","object":"checkout.session","payment_status":"unpaid","status":"complete","#
            + #""payment_intent":{"id":"pi_exp","object":"payment_intent"}}"#
        func wrap(_ type: String) -> String { #"{"id":"evt_2","type":"\#(type)","created":1,"data":{"object":\#(object)}}"# }
        guard case .checkoutCompleted(let unpaid) = try event(wrap("checkout.session.completed")) else { Issue.record("kind"); return }
        #expect(!unpaid.isPaid && unpaid.paymentIntentID == "pi_exp")
        guard case .checkoutAsyncPaymentSucceeded = try event(wrap("checkout.session.async_payment_succeeded")) else { Issue.record("kind"); return }
        guard case .checkoutAsyncPaymentFailed = try event(wrap("checkout.session.async_payment_failed")) else { Issue.record("kind"); return }
        guard case .checkoutExpired = try event(wrap("checkout.session.expired")) else { Issue.record("kind"); return }
    }

    /// localstripe's shape: `json.dumps(event, indent=2, sort_keys=True)`, api_version 2017-08-15, latest_charge expanded,
    /// the old `charges` list still present.
    @Test func localstripePaymentIntentSucceeded() throws {
        let body = #"""
            {
              "api_version": "2017-08-15",
              "created": 1790000100,
              "data": {
                "object": {
                  "amount": 2000,
                  "capture_method": "automatic_async",
                  "charges": {"data": [{"id": "ch_Lx", "object": "charge"}], "object": "list"},
                  "client_secret": "pi_Lp_secret_x",
                  "currency": "usd",
                  "customer": "cus_y8ol",
                  "id": "pi_LPur",
                  "last_payment_error": null,
                  "latest_charge": {"amount": 2000, "id": "ch_Lx", "object": "charge", "status": "succeeded"},
                  "metadata": {"keygate_org": "org_1", "keygate_purchase": "pur_5"},
                  "next_action": null,
                  "object": "payment_intent",
                  "payment_method": "pm_SAX8",
                  "status": "succeeded"
                }
              },
              "id": "evt_Lz",
              "livemode": false,
              "object": "event",
              "type": "payment_intent.succeeded"
            }
            """#
        guard case .paymentIntentSucceeded(let intent) = try event(body) else { Issue.record("kind"); return }
        #expect(
            intent
                == StripePaymentIntent(
                    id: "pi_LPur", status: "succeeded", amount: 2000, currency: "usd", customerID: "cus_y8ol", paymentMethodID: "pm_SAX8",
                    latestChargeID: "ch_Lx", metadata: ["keygate_org": "org_1", "keygate_purchase": "pur_5"], lastPaymentError: nil))
    }

    @Test func paymentFailedCarriesTheReason() throws {
        let body =
            #"{"id":"evt_f","type":"payment_intent.payment_failed","created":5,"data":{"object":{"id":"pi_f","object":"payment_intent","#
            + #""amount":18000,"currency":"usd","status":"requires_payment_method","latest_charge":"ch_f","payment_method":null,"#
            + #""last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","type":"card_error","#
            + #""message":"Your card has insufficient funds."},"metadata":{}}}}"#
        guard case .paymentIntentFailed(let intent) = try event(body) else { Issue.record("kind"); return }
        #expect(intent.latestChargeID == "ch_f" && intent.paymentMethodID == nil)
        #expect(intent.lastPaymentError?.kind == .cardDeclined)
        #expect(intent.lastPaymentError?.httpStatus == nil)
        #expect(intent.lastPaymentError?.customerFacingReason == "Your card was declined (insufficient funds)")
    }

    @Test func refundAndDisputes() throws {
        let refund =
            #"{"id":"evt_r","type":"charge.refunded","created":7,"data":{"object":{"id":"ch_1","object":"charge","amount":4750,"#
            + #""amount_refunded":1000,"currency":"usd","payment_intent":"pi_1","refunded":false,"metadata":{"keygate_org":"org_9"}},"#
            + #""previous_attributes":{"amount_refunded":0}}}"#
        guard case .chargeRefunded(let charge) = try event(refund) else { Issue.record("kind"); return }
        #expect(
            charge
                == StripeCharge(
                    id: "ch_1", paymentIntentID: "pi_1", amount: 4750, amountRefunded: 1000, currency: "usd",
                    metadata: ["keygate_org": "org_9"]))

        let dispute =
            #"{"id":"du_1","object":"dispute","amount":4750,"charge":"ch_1","currency":"usd","payment_intent":"pi_1","#
            + #""reason":"fraudulent","status":"STATUS","balance_transactions":[],"is_charge_refundable":false,"evidence_details":{"due_by":1}}"#
        func wrap(_ type: String, _ status: String) -> String {
            #"{"id":"evt_d","type":"\#(type)","created":8,"data":{"object":\#(dispute.replacingOccurrences(of: "STATUS", with: status))}}"#
        }
        guard case .disputeCreated(let opened) = try event(wrap("charge.dispute.created", "needs_response")) else { Issue.record("kind"); return }
        #expect(
            opened
                == StripeDispute(
                    id: "du_1", chargeID: "ch_1", paymentIntentID: "pi_1", amount: 4750, currency: "usd", status: "needs_response"))
        guard case .disputeClosed(let closed) = try event(wrap("charge.dispute.closed", "won")) else { Issue.record("kind"); return }
        #expect(closed.isWon)
    }

    @Test func unknownTypesAreIgnoredAndBrokenKnownOnesThrow() throws {
        #expect(
            try event(#"{"id":"evt_c","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","object":"customer"}}}"#)
                == .ignored(type: "customer.created"))
        #expect(throws: StripeDecodingError.self) {
            try event(#"{"id":"evt_x","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent"}}}"#)
        }
        #expect(throws: StripeDecodingError.self) {
            try event(
                #"{"id":"evt_x","type":"charge.dispute.created","created":1,"#
                    + #""data":{"object":{"id":"du_1","amount":1,"currency":"usd","status":"x"}}}"#)
        }
        #expect(throws: StripeDecodingError.self) {
            try event(
                #"{"id":"evt_x","type":"charge.refunded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1,"#
                    + #""amount_refunded":0,"currency":"usd"}}}"#)
        }
        #expect(throws: StripeDecodingError.self) { try StripeEvent.parse(Array(#"{"id":"evt_x","type":"a","created":1}"#.utf8)) }
        #expect(throws: StripeDecodingError.self) { try StripeEvent.parse(Array("not json".utf8)) }
    }

    @Test func responsesDecodeFromBytes() throws {
        #expect(try StripeCustomer(bytes: Array(#"{"id":"cus_1","object":"customer","email":null}"#.utf8)).id == "cus_1")
        let session = try StripeCheckoutSession(
            bytes: Array(
                #"{"id":"cs_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_1","status":"open","payment_status":"unpaid","#
                    .utf8) + Array(#""payment_intent":null,"amount_total":4750,"currency":"usd"}"#.utf8))
        #expect(session.url == "https://checkout.stripe.com/c/pay/cs_1" && session.paymentIntentID == nil && session.amountTotal == 4750)
        #expect(throws: StripeDecodingError.self) { try StripeCustomer(bytes: Array(#"{"object":"customer"}"#.utf8)) }
    }
}
