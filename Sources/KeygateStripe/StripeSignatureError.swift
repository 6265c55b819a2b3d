/// Why a webhook's `Stripe-Signature` was refused. Descriptions never contain the secret or the expected signature.
public enum StripeSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    case missingHeader
    /// No `t=` timestamp, no `v1=` signature, or an element that is not `key=value`.
    case malformedHeader
    /// No `v1` signature matches the body with our webhook secret: another secret, or a changed body.
    case noValidSignature
    /// Signed more than the tolerance away from now, in the past (a replay) or the future.
    case timestampOutsideTolerance

    public var description: String {
        switch self {
        case .missingHeader: return "the Stripe-Signature header is missing"
        case .malformedHeader: return "the Stripe-Signature header is malformed (expected t=<unix time>,v1=<hex signature>)"
        case .noValidSignature: return "no v1 signature in the Stripe-Signature header matches the body and the webhook secret"
        case .timestampOutsideTolerance: return "the Stripe-Signature timestamp is too far from the current time"
        }
    }
}
