import HTTPTypes

/// The header names Keygate reads and writes beyond the standard ones HTTPTypes already names.
extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let keygateBilling = HTTPField.Name("x-keygate-billing")!
    static let keygateCreditsCharged = HTTPField.Name("x-keygate-credits-charged")!
    static let keygateProvider = HTTPField.Name("x-keygate-provider")!
    /// The masked preview of the organisation's key that paid (BYOK requests): a receipt, never the key.
    static let keygateBYOKKey = HTTPField.Name("x-keygate-byok-key")!
    static let byokProvider = HTTPField.Name("x-byok-provider")!
    /// The job a call is billed to (SPEC §5).
    static let keygateJob = HTTPField.Name("x-keygate-job")!
    static let retryAfterMs = HTTPField.Name("retry-after-ms")!
    /// Where the Anthropic SDK sends the Keygate key.
    static let xAPIKey = HTTPField.Name("x-api-key")!
    /// Stripe's webhook signature (`t=…,v1=…`).
    static let stripeSignature = HTTPField.Name("stripe-signature")!
}
