import KeygateCore

/// A PaymentIntent: an auto top-up's charge, or the payment behind a Checkout Session.
public struct StripePaymentIntent: Sendable, Hashable {
    public var id: String
    /// "succeeded", "requires_payment_method", "requires_action", "processing", "canceled", …
    public var status: String
    /// Minor units of `currency`.
    public var amount: Int64
    public var currency: String
    public var customerID: String?
    /// The card used: after a checkout, the org's card for auto top-ups.
    public var paymentMethodID: String?
    public var latestChargeID: String?
    public var metadata: [String: String]
    /// Why the last attempt failed (a decline, `authentication_required`), when it did.
    public var lastPaymentError: StripeAPIError?

    public init(
        id: String, status: String, amount: Int64, currency: String, customerID: String? = nil, paymentMethodID: String? = nil,
        latestChargeID: String? = nil, metadata: [String: String] = [:], lastPaymentError: StripeAPIError? = nil
    ) {
        self.id = id
        self.status = status
        self.amount = amount
        self.currency = currency
        self.customerID = customerID
        self.paymentMethodID = paymentMethodID
        self.latestChargeID = latestChargeID
        self.metadata = metadata
        self.lastPaymentError = lastPaymentError
    }

    public var isSucceeded: Bool { status == "succeeded" }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "payment_intent")) }
    public init(bytes: some Collection<UInt8>) throws(StripeDecodingError) {
        try self.init(StripeObjectReader(bytes: bytes, kind: "payment_intent"))
    }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        status = try reader.string("status")
        amount = try reader.integer("amount")
        currency = try reader.string("currency")
        customerID = reader.reference("customer")
        paymentMethodID = reader.reference("payment_method")
        latestChargeID = reader.reference("latest_charge")
        metadata = reader.metadata()
        if case .object(let error) = reader.object["last_payment_error"] {
            lastPaymentError = StripeAPIError(httpStatus: nil, error: error)
        } else {
            lastPaymentError = nil
        }
    }
}
