/// A Stripe answer or event Keygate cannot use: not JSON, or missing a field it relies on.
public struct StripeDecodingError: Error, CustomStringConvertible, Equatable {
    /// What was being read, e.g. "payment_intent".
    public var object: String
    /// The field path, e.g. "data.object.amount".
    public var field: String
    public var reason: String

    public init(object: String, field: String, reason: String) {
        self.object = object
        self.field = field
        self.reason = reason
    }

    public var description: String { "Stripe \(object): \(field) \(reason)" }
}
