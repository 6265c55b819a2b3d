/// What a Stripe error means for Keygate, whatever `type` Stripe (or a fake) put on it.
public enum StripeAPIErrorKind: String, Sendable, Hashable {
    /// The card was refused (402, `card_declined` and other card codes): stop auto top-up, tell the org admin.
    case cardDeclined
    /// The bank wants the cardholder present (`authentication_required`): the org admin must pay once on-session.
    case authenticationRequired
    /// 429: back off and retry.
    case rateLimited
    /// 5xx or `api_error`: Stripe's side; retry with the same idempotency key.
    case serverError
    /// 400/404 and anything else: our request is wrong; retrying will not help.
    case invalidRequest
    /// 401/403: our secret key is wrong or lacks permission: an operator problem.
    case authentication
    /// `idempotency_error`: a key reused with different parameters, or still in use by a concurrent request.
    case idempotency
}
