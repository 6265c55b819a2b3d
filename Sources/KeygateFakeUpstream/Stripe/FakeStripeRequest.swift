/// One request the fake Stripe received, as sent: tests assert on it (every POST carried an
/// `Idempotency-Key` and the pinned `Stripe-Version`, the exact parameters Keygate sent).
public struct FakeStripeRequest: Sendable {
    public var method: String
    public var path: String
    public var query: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var rawBody: [UInt8]
    /// The form parameters in the order sent, names as sent (`metadata[keygate_org]`, `line_items[0][quantity]`).
    public var parameters: [(name: String, value: String)]

    public var idempotencyKey: String? { headers["idempotency-key"] }
    public var stripeVersion: String? { headers["stripe-version"] }
    /// The value of a parameter by its name as sent (the last one when repeated).
    public subscript(parameter name: String) -> String? { parameters.last { $0.name == name }?.value }
}
