/// What happens on Stripe's side without an API call from Keygate: a customer pays (or does not) on the
/// Checkout page, a session expires, a payment is refunded, a dispute opens and closes. Each changes the
/// objects as Stripe would and returns the event Stripe would send.
extension FakeStripeState {
    mutating func completeCheckout(
        _ sessionID: String, paymentMethod: String, paid: Bool, amount: Int?, currency: String?
    ) throws(FakeStripeError) -> FakeStripeEvent {
        var session = try openSession(sessionID)
        guard let card = StripeTestCard.magic(paymentMethod) ?? cards[paymentMethod] else {
            throw FakeStripeError("unknown test payment method \(paymentMethod)")
        }
        let data = sessionIntentData[sessionID] ?? [:]
        let customer = session["customer"]?.string
        let setupFutureUsage = data["setup_future_usage"]?.string
        // Checkout saves the card to the customer only when asked to set it up for future use.
        let method = newPaymentMethod(card: card, customer: setupFutureUsage == nil ? nil : customer)
        let amountPaid = amount ?? session["amount_total"]?.int ?? 0
        let currencyPaid = currency ?? session["currency"]?.string ?? "usd"
        let intent = newPaymentIntent(
            amount: amountPaid, currency: currencyPaid, customer: customer, paymentMethod: method, metadata: data["metadata"] ?? [:],
            description: data["description"]?.string, setupFutureUsage: setupFutureUsage)
        let charge = newCharge(intentID: intent, status: paid ? "succeeded" : "pending")
        objects[intent]!["latest_charge"] = .string(charge)
        if paid {
            objects[intent]!["status"] = "succeeded"
            objects[intent]!["amount_received"] = .int(amountPaid)
            emit("payment_intent.succeeded", objects[intent]!)
        } else {
            objects[intent]!["status"] = "processing"
        }
        let email = customer.flatMap { objects[$0]?["email"]?.string } ?? session["customer_email"]?.string
        session["amount_subtotal"] = .int(amountPaid)
        session["amount_total"] = .int(amountPaid)
        session["currency"] = .string(currencyPaid)
        session["customer_details"] = [
            "address": Self.emptyAddress, "email": .optional(email), "name": nil, "phone": nil, "tax_exempt": "none", "tax_ids": [],
        ]
        session["payment_intent"] = .string(intent)
        session["payment_status"] = paid ? "paid" : "unpaid"
        session["status"] = "complete"
        objects[sessionID] = session
        return emit("checkout.session.completed", session)
    }

    /// A delayed payment of a completed, unpaid session settles (or fails).
    mutating func settleAsyncPayment(_ sessionID: String, succeeded: Bool) throws(FakeStripeError) -> FakeStripeEvent {
        guard var session = object(sessionID, kind: "checkout.session") else { throw FakeStripeError("no checkout session \(sessionID)") }
        guard session["status"]?.string == "complete", session["payment_status"]?.string == "unpaid",
            let intent = session["payment_intent"]?.string, objects[intent]?["status"]?.string == "processing",
            let charge = objects[intent]?["latest_charge"]?.string
        else { throw FakeStripeError("checkout session \(sessionID) has no payment in processing") }
        if succeeded {
            let amount = objects[intent]!["amount"]!
            objects[charge]!["status"] = "succeeded"
            objects[charge]!["paid"] = true
            objects[charge]!["captured"] = true
            objects[charge]!["amount_captured"] = amount
            objects[charge]!["balance_transaction"] = .string(Self.newID("txn_"))
            objects[intent]!["status"] = "succeeded"
            objects[intent]!["amount_received"] = amount
            emit("payment_intent.succeeded", objects[intent]!)
            session["payment_status"] = "paid"
            objects[sessionID] = session
            return emit("checkout.session.async_payment_succeeded", session)
        }
        objects[charge]!["status"] = "failed"
        objects[charge]!["failure_code"] = "card_declined"
        objects[charge]!["failure_message"] = .string(Self.declineMessage("generic_decline"))
        objects[intent]!["status"] = "requires_payment_method"
        emit("payment_intent.payment_failed", objects[intent]!)
        return emit("checkout.session.async_payment_failed", session)
    }

    mutating func expireCheckout(_ sessionID: String) throws(FakeStripeError) -> FakeStripeEvent {
        var session = try openSession(sessionID)
        session["status"] = "expired"
        objects[sessionID] = session
        return emit("checkout.session.expired", session)
    }

    private func openSession(_ sessionID: String) throws(FakeStripeError) -> StripeJSON {
        guard let session = object(sessionID, kind: "checkout.session") else { throw FakeStripeError("no checkout session \(sessionID)") }
        guard session["status"]?.string == "open" else {
            throw FakeStripeError("checkout session \(sessionID) is \(session["status"]?.string ?? "?"), not open")
        }
        return session
    }

    /// Refunds `amount` (the rest when nil) of a succeeded charge: `amount_refunded` is cumulative, `refunded`
    /// true only once all of it is refunded; the event's `previous_attributes` hold the values before.
    mutating func refund(_ chargeID: String, amount: Int?, currency: String? = nil) throws(FakeStripeError) -> FakeStripeEvent {
        let charge = try succeededCharge(chargeID)
        let total = charge["amount"]?.int ?? 0
        let before = charge["amount_refunded"]?.int ?? 0
        let refunded = amount ?? (total - before)
        guard refunded >= 1, before + refunded <= total else {
            throw FakeStripeError("cannot refund \(refunded) of charge \(chargeID): \(total - before) left")
        }
        let id = Self.newID("re_")
        objects[id] = [
            "id": .string(id), "object": "refund", "amount": .int(refunded), "balance_transaction": .string(Self.newID("txn_")),
            "charge": .string(chargeID), "created": .int(Self.now()), "currency": charge["currency"] ?? nil, "destination_details": nil,
            "metadata": [:], "payment_intent": charge["payment_intent"] ?? nil, "reason": nil, "receipt_number": nil,
            "source_transfer_reversal": nil, "status": "succeeded", "transfer_reversal": nil,
        ]
        objects[chargeID]!["amount_refunded"] = .int(before + refunded)
        objects[chargeID]!["refunded"] = .bool(before + refunded == total)
        var reported = objects[chargeID]!
        if let currency { reported["currency"] = .string(currency) }
        return emit("charge.refunded", reported, previous: ["amount_refunded": .int(before), "refunded": charge["refunded"] ?? false])
    }

    mutating func openDispute(_ chargeID: String, amount: Int?, reason: String, currency: String? = nil) throws(FakeStripeError) -> FakeStripeEvent {
        let charge = try succeededCharge(chargeID)
        let id = Self.newID("du_")
        let now = Self.now()
        objects[id] = [
            "id": .string(id), "object": "dispute", "amount": .int(amount ?? charge["amount"]?.int ?? 0), "balance_transactions": [],
            "charge": .string(chargeID), "created": .int(now), "currency": currency.map(StripeJSON.string) ?? charge["currency"] ?? nil,
            "evidence_details": ["due_by": .int(now + 7 * 86_400), "has_evidence": false, "past_due": false, "submission_count": 0],
            "is_charge_refundable": false, "livemode": false, "metadata": [:], "payment_intent": charge["payment_intent"] ?? nil,
            "payment_method_details": ["card": ["brand": "visa", "network_reason_code": "10.4"], "type": "card"],
            "reason": .string(reason), "status": "needs_response",
        ]
        objects[chargeID]!["disputed"] = true
        return emit("charge.dispute.created", objects[id]!)
    }

    mutating func closeDispute(_ disputeID: String, won: Bool) throws(FakeStripeError) -> FakeStripeEvent {
        guard let dispute = object(disputeID, kind: "dispute") else { throw FakeStripeError("no dispute \(disputeID)") }
        guard let status = dispute["status"]?.string, status != "won", status != "lost" else {
            throw FakeStripeError("dispute \(disputeID) is already closed")
        }
        objects[disputeID]!["status"] = won ? "won" : "lost"
        return emit("charge.dispute.closed", objects[disputeID]!, previous: ["status": .string(status)])
    }

    private func succeededCharge(_ chargeID: String) throws(FakeStripeError) -> StripeJSON {
        guard let charge = object(chargeID, kind: "charge") else { throw FakeStripeError("no charge \(chargeID)") }
        guard charge["status"]?.string == "succeeded" else { throw FakeStripeError("charge \(chargeID) has not succeeded") }
        return charge
    }
}
