import Hummingbird
import KeygateCore

/// `POST /webhooks/stripe`: no Keygate key; the `Stripe-Signature` header over the raw body is the
/// authentication. 2xx tells Stripe the event is handled (applied, a duplicate, or not Keygate's); a 400 means
/// it will never verify; a 5xx asks Stripe to deliver it again later.
struct StripeWebhookRoute: Sendable {
    let handler: StripeWebhookHandler
    /// Stripe's events are a few kilobytes; a megabyte leaves room without inviting abuse.
    let bodyLimit = 1 << 20

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let payload = try await request.collectAPIBody(limit: bodyLimit)
        let outcome = try await handler.handle(payload: payload, signature: request.headers[.stripeSignature])
        return Response.json(.ok, .object(["received": .bool(true), "outcome": .string(outcome.rawValue)]))
    }
}
