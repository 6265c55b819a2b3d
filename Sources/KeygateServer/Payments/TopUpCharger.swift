import KeygateCore
import KeygateStore
import KeygateStripe
import Logging

/// Charges a claimed top-up: an off-session PaymentIntent (`confirm=true`) on the saved card, keyed by the
/// purchase id, and applies Stripe's synchronous answer.
///
/// Invariant: the idempotency key is the purchase's, so asking again for the same purchase (after a timeout,
/// or from another process after this one died) is answered with the first PaymentIntent: never two charges.
/// The grant happens once whichever comes first, this answer or the `payment_intent.succeeded` webhook: the
/// store grants only a `pending` purchase.
struct TopUpCharger: Sendable {
    let stripe: StripeClient
    let store: any PurchaseStore
    let logger: Logger
    /// Counts the charges by outcome (`keygate_topups_total`).
    var metrics: GatewayMetrics? = nil

    enum Result: Sendable, Equatable {
        /// Paid and granted (by this answer or an earlier webhook).
        case succeeded
        /// Declined, or the bank wants the cardholder: the purchase failed and auto top-up is `failing`.
        case failed(String)
        /// No final answer yet (Stripe unreachable, still processing): the purchase stays pending and is asked
        /// about again later with the same key.
        case unknown
    }

    func charge(_ purchase: PurchaseRecord, customerID: String, paymentMethodID: String) async -> Result {
        let result = await attempt(purchase, customerID: customerID, paymentMethodID: paymentMethodID)
        switch result {
        case .succeeded: metrics?.topUp(outcome: "succeeded")
        case .failed: metrics?.topUp(outcome: "failed")
        case .unknown: metrics?.topUp(outcome: "unknown")
        }
        return result
    }

    private func attempt(_ purchase: PurchaseRecord, customerID: String, paymentMethodID: String) async -> Result {
        let request = StripeRequests.createTopUpPaymentIntent(
            purchaseID: purchase.id, organizationID: purchase.organizationID, customerID: customerID,
            paymentMethodID: paymentMethodID, amount: purchase.amount, currency: purchase.currency)
        do {
            let intent = try StripePaymentIntent(json: try await stripe.send(request))
            switch intent.status {
            case "succeeded":
                _ = try await store.applyPayment(
                    .paid(
                        purchaseID: purchase.id, amount: intent.amount, currency: intent.currency, paymentIntentID: intent.id,
                        chargeID: intent.latestChargeID, paymentMethodID: nil),
                    eventID: nil)
                logger.info("Auto top-up paid", metadata: ["purchase": "\(purchase.id)", "payment_intent": "\(intent.id)"])
                return .succeeded
            case "requires_action", "requires_payment_method", "requires_confirmation", "canceled":
                // Off-session, nobody can authenticate: treat as Stripe's authentication_required.
                let reason =
                    intent.lastPaymentError?.customerFacingReason
                    ?? "The bank asks the cardholder to approve this payment: buy credits once through checkout to approve the card for top-ups"
                return await fail(purchase, reason: reason, paymentIntentID: intent.id)
            default:
                // `processing`: the webhook settles it.
                return .unknown
            }
        } catch let error as StripeCallError {
            // A final refusal fails the top-up. Anything else may have charged: keep it pending for the webhook
            // or the next ask (an idempotency conflict means a first attempt, with other parameters, exists).
            if case .api(let apiError, _) = error, !error.outcomeUnknown, !error.isRetryable, apiError.kind != .idempotency {
                return await fail(purchase, reason: apiError.customerFacingReason, paymentIntentID: apiError.paymentIntentID)
            }
            logger.warning(
                "Auto top-up got no answer from Stripe; it will ask again with the same idempotency key",
                metadata: ["purchase": "\(purchase.id)", "error": "\(error)"])
            return .unknown
        } catch {
            logger.error("Auto top-up answer could not be applied", metadata: ["purchase": "\(purchase.id)", "error": "\(error)"])
            return .unknown
        }
    }

    private func fail(_ purchase: PurchaseRecord, reason: String, paymentIntentID: String?) async -> Result {
        do {
            _ = try await store.applyPayment(.failed(purchaseID: purchase.id, reason: reason, paymentIntentID: paymentIntentID), eventID: nil)
        } catch {
            logger.error("Could not record the failed top-up", metadata: ["purchase": "\(purchase.id)", "error": "\(error)"])
        }
        logger.warning("Auto top-up failed", metadata: ["purchase": "\(purchase.id)", "reason": "\(reason)"])
        return .failed(reason)
    }
}
