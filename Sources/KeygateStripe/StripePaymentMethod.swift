import KeygateCore

/// A saved payment method: whose it is (a card attached to another customer cannot fund this one's top-ups).
public struct StripePaymentMethod: Sendable, Hashable {
    public var id: String
    public var customerID: String?

    public init(id: String, customerID: String?) {
        self.id = id
        self.customerID = customerID
    }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "payment_method")) }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        customerID = reader.reference("customer")
    }
}
