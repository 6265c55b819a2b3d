import KeygateCore
import KeygateStore
import KeygateStripe
import Logging

/// `POST /webhooks/stripe`: Stripe's signed events turned into ledger changes, each applied once.
///
/// Order of trust: the signature over the raw body first (nothing is read before it verifies), then the
/// event's purchase, which must be one Keygate wrote; what is granted is that record's credits, never an
/// amount from the event. Exactly once: the store writes the event id in the transaction of its effect, and
/// a purchase is granted only from `pending`, so replays, concurrent duplicates on several processes, the
/// checkout's two confirmations (session and PaymentIntent) and a top-up's synchronous answer all grant once.
struct StripeWebhookHandler: Sendable {
    let store: any PurchaseStore
    let webhookSecret: String?
    /// To read the card of a completed checkout (its PaymentIntent's payment method).
    let stripe: StripeClient?
    /// Told of every organisation whose payment side changed (caches, the top-up trigger).
    let onAccountChange: @Sendable (String) -> Void
    let logger: Logger

    /// What became of an event, for the response body and the tests.
    enum Outcome: String, Sendable {
        case applied, recorded, duplicate, flagged, ignored
    }

    func handle(payload: [UInt8], signature: String?, now: Int64 = WallClock.nowMs() / 1000) async throws -> Outcome {
        guard let webhookSecret else { throw GatewayError.paymentsNotConfigured }
        do {
            try StripeWebhookSignature.verify(payload: payload, header: signature, secret: webhookSecret, now: now)
        } catch {
            logger.warning("Stripe webhook refused: bad signature", metadata: ["why": "\(error)"])
            throw GatewayError.invalidWebhookSignature("\(error)")
        }
        let event: StripeEvent
        let payment: StripePaymentEvent
        do {
            event = try StripeEvent.parse(payload)
            payment = try StripePaymentEvent(event)
        } catch {
            throw GatewayError.invalidWebhookEvent("\(error)")
        }
        guard let change = try await change(for: payment, eventID: event.id) else {
            logger.debug("Stripe event ignored", metadata: ["event": "\(event.id)", "type": "\(event.type)"])
            return .ignored
        }
        let outcome = try await store.applyPayment(change, eventID: event.id)
        let purchaseID = change.purchaseID
        if let purchase = try await store.purchase(id: purchaseID) { onAccountChange(purchase.organizationID) }
        switch outcome {
        case .applied:
            logger.info("Stripe event applied", metadata: ["event": "\(event.id)", "type": "\(event.type)", "purchase": "\(purchaseID)"])
            return .applied
        case .recorded: return .recorded
        case .alreadyApplied:
            logger.info("Stripe event already applied", metadata: ["event": "\(event.id)", "type": "\(event.type)", "purchase": "\(purchaseID)"])
            return .duplicate
        case .unknownPurchase:
            logger.warning("Stripe event names a purchase Keygate does not have", metadata: ["event": "\(event.id)", "purchase": "\(purchaseID)"])
            return .ignored
        case .flagged(let reason):
            // A payment of another amount or currency, or a refund or dispute in another currency: acknowledged (a
            // redelivery would be refused the same way), recorded, and left to a human.
            logger.warning(
                "Stripe event does not match its purchase: no credits moved",
                metadata: ["event": "\(event.id)", "type": "\(event.type)", "purchase": "\(purchaseID)", "reason": "\(reason)"])
            return .flagged
        }
    }

    /// The store's change for an event, or nil when the event is not about a Keygate purchase (other products
    /// may share the Stripe account) or needs no change.
    func change(for payment: StripePaymentEvent, eventID: String) async throws -> PaymentChange? {
        switch payment {
        case .checkoutCompleted(let session), .checkoutAsyncPaymentSucceeded(let session):
            // A completed session can still be unpaid (delayed methods): its async event grants later.
            guard session.paymentStatus == "paid", let purchase = try await purchase(session) else { return nil }
            // Only a pending purchase can still be granted: a duplicate needs no call to Stripe.
            let intent = purchase.status == .pending ? try await paymentIntent(session.paymentIntentID) : nil
            return .paid(
                purchaseID: purchase.id, amount: session.amountTotal ?? -1, currency: session.currency ?? "",
                paymentIntentID: session.paymentIntentID, chargeID: intent?.latestChargeID, paymentMethodID: intent?.paymentMethodID)
        case .checkoutAsyncPaymentFailed(let session):
            guard let purchase = try await purchase(session) else { return nil }
            return .failed(purchaseID: purchase.id, reason: "the payment failed after checkout", paymentIntentID: session.paymentIntentID)
        case .checkoutExpired(let session):
            guard let purchase = try await purchase(session) else { return nil }
            return .expired(purchaseID: purchase.id)
        case .paymentIntentSucceeded(let intent):
            guard let purchase = try await purchase(metadata: intent.metadata, stripeIDs: [intent.id]) else { return nil }
            return .paid(
                purchaseID: purchase.id, amount: intent.amount, currency: intent.currency, paymentIntentID: intent.id,
                chargeID: intent.latestChargeID, paymentMethodID: intent.paymentMethodID)
        case .paymentIntentFailed(let intent):
            // A checkout's customer may try another card in the same session: only a top-up fails here.
            guard let purchase = try await purchase(metadata: intent.metadata, stripeIDs: [intent.id]), purchase.kind == .topup else {
                return nil
            }
            let reason = intent.lastPaymentError?.customerFacingReason ?? "the payment failed"
            return .failed(purchaseID: purchase.id, reason: reason, paymentIntentID: intent.id)
        case .chargeRefunded(let charge):
            guard let purchase = try await purchase(metadata: charge.metadata, stripeIDs: [charge.paymentIntentID, charge.id]) else {
                return nil
            }
            return .refunded(purchaseID: purchase.id, amountRefunded: charge.amountRefunded, currency: charge.currency, chargeID: charge.id)
        case .disputeCreated(let dispute):
            guard let purchase = try await purchase(metadata: [:], stripeIDs: [dispute.paymentIntentID, dispute.chargeID]) else { return nil }
            return .disputeOpened(purchaseID: purchase.id, disputeID: dispute.id, amount: dispute.amount, currency: dispute.currency)
        case .disputeClosed(let dispute):
            guard let purchase = try await purchase(metadata: [:], stripeIDs: [dispute.paymentIntentID, dispute.chargeID]) else { return nil }
            return .disputeClosed(
                purchaseID: purchase.id, disputeID: dispute.id, amount: dispute.amount, currency: dispute.currency,
                won: dispute.status == "won")
        case .ignored:
            return nil
        }
    }

    private func purchase(_ session: StripeCheckoutSession) async throws -> PurchaseRecord? {
        var metadata = session.metadata
        if metadata["keygate_purchase"] == nil, let reference = session.clientReferenceID { metadata["keygate_purchase"] = reference }
        return try await purchase(metadata: metadata, stripeIDs: [session.id])
    }

    /// The purchase an event names: by the id Keygate put in its metadata, else by a Stripe id recorded on it.
    private func purchase(metadata: [String: String], stripeIDs: [String?]) async throws -> PurchaseRecord? {
        if let id = metadata["keygate_purchase"], let purchase = try await store.purchase(id: id) { return purchase }
        for case let id? in stripeIDs {
            if let purchase = try await store.purchase(stripeID: id) { return purchase }
        }
        return nil
    }

    /// A checkout's PaymentIntent: its card becomes the organisation's top-up card, its charge is what refunds
    /// and disputes will name. If Stripe cannot say now, the event fails (5xx) and Stripe delivers it again
    /// later: better late than a grant without the card.
    private func paymentIntent(_ paymentIntentID: String?) async throws -> StripePaymentIntent? {
        guard let paymentIntentID, let stripe else { return nil }
        do {
            return try StripePaymentIntent(json: try await stripe.send(StripeRequests.retrievePaymentIntent(id: paymentIntentID)))
        } catch {
            logger.warning(
                "Could not read the checkout's PaymentIntent; Stripe will deliver the event again",
                metadata: ["payment_intent": "\(paymentIntentID)", "error": "\(error)"])
            throw GatewayError.paymentProviderFailed("the checkout's payment could not be read yet")
        }
    }
}

extension PaymentChange {
    var purchaseID: String {
        switch self {
        case .paid(let id, _, _, _, _, _), .failed(let id, _, _), .expired(let id), .refunded(let id, _, _, _),
            .disputeOpened(let id, _, _, _), .disputeClosed(let id, _, _, _, _):
            id
        }
    }
}
