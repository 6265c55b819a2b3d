import KeygateCore

/// A saved payment method: whose it is (a card attached to another customer cannot fund this one's top-ups),
/// and what to call it on a page (`visa …4242`).
public struct StripePaymentMethod: Sendable, Hashable {
    public var id: String
    public var customerID: String?
    public var cardBrand: String?
    public var cardLast4: String?

    public init(id: String, customerID: String?, cardBrand: String? = nil, cardLast4: String? = nil) {
        self.id = id
        self.customerID = customerID
        self.cardBrand = cardBrand
        self.cardLast4 = cardLast4
    }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "payment_method")) }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        customerID = reader.reference("customer")
        cardBrand = reader.object["card"]?["brand"]?.stringValue
        cardLast4 = reader.object["card"]?["last4"]?.stringValue
    }
}
