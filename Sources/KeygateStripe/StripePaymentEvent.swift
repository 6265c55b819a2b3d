import KeygateCore

/// The webhook events Keygate acts on, with their objects decoded; every other type is `.ignored` (answered 200).
public enum StripePaymentEvent: Sendable, Hashable {
    /// Grant only when the session `isPaid`: a delayed payment method completes the session unpaid.
    case checkoutCompleted(StripeCheckoutSession)
    case checkoutAsyncPaymentSucceeded(StripeCheckoutSession)
    case checkoutAsyncPaymentFailed(StripeCheckoutSession)
    case checkoutExpired(StripeCheckoutSession)
    case paymentIntentSucceeded(StripePaymentIntent)
    case paymentIntentFailed(StripePaymentIntent)
    case chargeRefunded(StripeCharge)
    case disputeCreated(StripeDispute)
    case disputeClosed(StripeDispute)
    case ignored(type: String)

    /// Throws when a type Keygate acts on carries an object without the fields it needs: such an event must be
    /// refused (and so redelivered or looked at), never half-applied.
    public init(_ event: StripeEvent) throws(StripeDecodingError) {
        switch event.type {
        case "checkout.session.completed": self = .checkoutCompleted(try StripeCheckoutSession(json: event.object))
        case "checkout.session.async_payment_succeeded": self = .checkoutAsyncPaymentSucceeded(try StripeCheckoutSession(json: event.object))
        case "checkout.session.async_payment_failed": self = .checkoutAsyncPaymentFailed(try StripeCheckoutSession(json: event.object))
        case "checkout.session.expired": self = .checkoutExpired(try StripeCheckoutSession(json: event.object))
        case "payment_intent.succeeded": self = .paymentIntentSucceeded(try StripePaymentIntent(json: event.object))
        case "payment_intent.payment_failed": self = .paymentIntentFailed(try StripePaymentIntent(json: event.object))
        case "charge.refunded": self = .chargeRefunded(try StripeCharge(json: event.object))
        case "charge.dispute.created": self = .disputeCreated(try StripeDispute(json: event.object))
        case "charge.dispute.closed": self = .disputeClosed(try StripeDispute(json: event.object))
        default: self = .ignored(type: event.type)
        }
    }

    /// The event types to subscribe the webhook endpoint to.
    public static let handledTypes = [
        "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
        "checkout.session.expired", "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
        "charge.dispute.created", "charge.dispute.closed",
    ]
}
