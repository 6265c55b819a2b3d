/// The objects of a payment and how they change: payment methods, PaymentIntents, charges, and what
/// confirming a PaymentIntent does with each test card (shared by the API routes and the test helpers).
extension FakeStripeState {
    mutating func newPaymentMethod(card: StripeTestCard, customer: String?) -> String {
        let id = Self.newID("pm_")
        objects[id] = [
            "id": .string(id), "object": "payment_method", "allow_redisplay": "unspecified",
            "billing_details": ["address": Self.emptyAddress, "email": nil, "name": nil, "phone": nil],
            "card": [
                "brand": "visa", "checks": ["address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"],
                "country": "US", "display_brand": "visa", "exp_month": 12, "exp_year": 2034, "fingerprint": .string(Self.newID("", length: 16)),
                "funding": "credit", "generated_from": nil, "last4": .string(card.last4),
                "networks": ["available": ["visa"], "preferred": nil], "three_d_secure_usage": ["supported": true], "wallet": nil,
            ],
            "created": .int(Self.now()), "customer": .optional(customer), "livemode": false, "metadata": [:], "type": "card",
        ]
        cards[id] = card
        return id
    }

    static let emptyAddress: StripeJSON = ["city": nil, "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil]

    mutating func newPaymentIntent(
        amount: Int, currency: String, customer: String?, paymentMethod: String?, metadata: StripeJSON, description: String?,
        setupFutureUsage: String?
    ) -> String {
        let id = Self.newID("pi_")
        objects[id] = [
            "id": .string(id), "object": "payment_intent", "amount": .int(amount), "amount_capturable": 0,
            "amount_details": ["tip": [:]], "amount_received": 0, "application": nil, "application_fee_amount": nil,
            "automatic_payment_methods": nil, "canceled_at": nil, "cancellation_reason": nil, "capture_method": "automatic",
            "client_secret": .string(id + "_secret_" + Self.newID("", length: 25)), "confirmation_method": "automatic",
            "created": .int(Self.now()), "currency": .string(currency), "customer": .optional(customer), "description": .optional(description),
            "last_payment_error": nil, "latest_charge": nil, "livemode": false, "metadata": metadata, "next_action": nil,
            "on_behalf_of": nil, "payment_method": .optional(paymentMethod),
            "payment_method_configuration_details": nil,
            "payment_method_options": ["card": ["installments": nil, "mandate_options": nil, "network": nil, "request_three_d_secure": "automatic"]],
            "payment_method_types": ["card"], "processing": nil, "receipt_email": nil, "review": nil,
            "setup_future_usage": .optional(setupFutureUsage), "shipping": nil, "source": nil, "statement_descriptor": nil,
            "statement_descriptor_suffix": nil, "status": .string(paymentMethod == nil ? "requires_payment_method" : "requires_confirmation"),
            "transfer_data": nil, "transfer_group": nil,
        ]
        return id
    }

    /// A charge of the PaymentIntent on its payment method: `succeeded`, `pending` (a delayed method) or
    /// `failed` with a decline code.
    mutating func newCharge(intentID: String, status: String, declineCode: String? = nil) -> String {
        let intent = objects[intentID]!
        let id = Self.newID("ch_")
        let amount = intent["amount"]?.int ?? 0
        let paymentMethod = intent["payment_method"]?.string
        let succeeded = status == "succeeded"
        let outcome: StripeJSON =
            switch status {
            case "failed":
                [
                    "network_status": "declined_by_network", "reason": .optional(declineCode), "risk_level": "normal", "risk_score": 20,
                    "seller_message": "The bank did not return any further details with this decline.", "type": "issuer_declined",
                ]
            default:
                [
                    "network_status": "approved_by_network", "reason": nil, "risk_level": "normal", "risk_score": 20,
                    "seller_message": "Payment complete.", "type": "authorized",
                ]
            }
        objects[id] = [
            "id": .string(id), "object": "charge", "amount": .int(amount), "amount_captured": .int(succeeded ? amount : 0),
            "amount_refunded": 0, "application": nil, "application_fee": nil, "application_fee_amount": nil,
            "balance_transaction": succeeded ? .string(Self.newID("txn_")) : nil,
            "billing_details": ["address": Self.emptyAddress, "email": nil, "name": nil, "phone": nil],
            "calculated_statement_descriptor": "KEYGATE", "captured": .bool(succeeded), "created": .int(Self.now()),
            "currency": intent["currency"] ?? nil, "customer": intent["customer"] ?? nil, "description": intent["description"] ?? nil,
            "disputed": false, "failure_balance_transaction": nil,
            "failure_code": status == "failed" ? "card_declined" : nil,
            "failure_message": status == "failed" ? .string(Self.declineMessage(declineCode ?? "generic_decline")) : nil,
            "fraud_details": [:], "livemode": false, "metadata": intent["metadata"] ?? [:], "on_behalf_of": nil, "outcome": outcome,
            "paid": .bool(succeeded), "payment_intent": .string(intentID), "payment_method": .optional(paymentMethod),
            "payment_method_details": [
                "card": [
                    "brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2034, "funding": "credit",
                    "last4": .string(paymentMethod.flatMap { cards[$0] }?.last4 ?? "4242"), "network": "visa",
                ],
                "type": "card",
            ],
            "receipt_email": nil, "receipt_url": .string("https://pay.stripe.com/receipts/" + Self.newID("", length: 32)),
            "refunded": false, "review": nil, "shipping": nil, "source": nil, "statement_descriptor": nil, "status": .string(status),
            "transfer_data": nil, "transfer_group": nil,
        ]
        return id
    }

    static func declineMessage(_ declineCode: String) -> String {
        declineCode == "insufficient_funds" ? "Your card has insufficient funds." : "Your card was declined."
    }

    /// Confirms a PaymentIntent on its payment method, as Stripe does for the test cards: success (a charge,
    /// `payment_intent.succeeded`), a decline (a failed charge, the PI back to `requires_payment_method`,
    /// `payment_intent.payment_failed`, a 402 `card_error` embedding the PI), or authentication: off-session
    /// (or with `error_on_requires_action`) a 402 `authentication_required`, on-session `requires_action`.
    mutating func confirm(
        intentID: String, offSession: Bool, errorOnRequiresAction: Bool, requestID: String?, idempotencyKey: String?
    ) throws(StripeAnswer) -> StripeJSON {
        guard let paymentMethod = objects[intentID]?["payment_method"]?.string else { return objects[intentID]! }
        let card = cards[paymentMethod] ?? .succeeds
        switch card {
        case .succeeds:
            let charge = newCharge(intentID: intentID, status: "succeeded")
            objects[intentID]!["status"] = "succeeded"
            objects[intentID]!["amount_received"] = objects[intentID]!["amount"]
            objects[intentID]!["latest_charge"] = .string(charge)
            emit("payment_intent.succeeded", objects[intentID]!, requestID: requestID, idempotencyKey: idempotencyKey)
            return objects[intentID]!
        case .declined(let declineCode):
            let charge = newCharge(intentID: intentID, status: "failed", declineCode: declineCode)
            throw fail(
                intentID: intentID, paymentMethod: paymentMethod, charge: charge, code: "card_declined", declineCode: declineCode,
                message: Self.declineMessage(declineCode), requestID: requestID, idempotencyKey: idempotencyKey)
        case .authenticationRequired:
            guard offSession || errorOnRequiresAction else {
                objects[intentID]!["status"] = "requires_action"
                objects[intentID]!["next_action"] = [
                    "type": "use_stripe_sdk", "use_stripe_sdk": ["type": "three_d_secure_redirect", "stripe_js": "https://hooks.stripe.com/fake"],
                ]
                return objects[intentID]!
            }
            throw fail(
                intentID: intentID, paymentMethod: paymentMethod, charge: nil, code: "authentication_required",
                declineCode: "authentication_required", message: "Your card was declined. This transaction requires authentication.",
                requestID: requestID, idempotencyKey: idempotencyKey)
        }
    }

    /// A failed confirmation: the PI waits for a new payment method, the event is emitted, and the 402 answer
    /// (stored for idempotent replay: the endpoint ran) carries the PI as it now is.
    private mutating func fail(
        intentID: String, paymentMethod: String, charge: String?, code: String, declineCode: String, message: String,
        requestID: String?, idempotencyKey: String?
    ) -> StripeAnswer {
        var error: StripeJSON = [:]
        if let charge { error["charge"] = .string(charge) }
        error["code"] = .string(code)
        error["decline_code"] = .string(declineCode)
        error["doc_url"] = .string("https://stripe.com/docs/error-codes/" + code.replacingOccurrences(of: "_", with: "-"))
        error["message"] = .string(message)
        error["payment_method"] = objects[paymentMethod]
        error["type"] = "card_error"
        objects[intentID]!["status"] = "requires_payment_method"
        objects[intentID]!["payment_method"] = .null
        if let charge { objects[intentID]!["latest_charge"] = .string(charge) }
        objects[intentID]!["last_payment_error"] = error
        emit("payment_intent.payment_failed", objects[intentID]!, requestID: requestID, idempotencyKey: idempotencyKey)
        error["payment_intent"] = objects[intentID]!
        error["request_log_url"] = "https://dashboard.stripe.com/test/logs"
        return StripeAnswer(status: 402, body: ["error": error], stored: true)
    }
}
