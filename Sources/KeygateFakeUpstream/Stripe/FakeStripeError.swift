/// A test helper of the fake Stripe was asked for something Stripe would not do (an unknown id, a session
/// that is not open, a refund beyond the charge).
public struct FakeStripeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
