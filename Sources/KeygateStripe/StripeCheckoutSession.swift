import KeygateCore

/// A Checkout Session, as created and as carried by `checkout.session.*` events. Credits are granted only when
/// `paymentStatus == "paid"` (a completed session can still be unpaid for delayed payment methods).
public struct StripeCheckoutSession: Sendable, Hashable {
    public var id: String
    /// The hosted page; null once the session is complete or expired.
    public var url: String?
    /// "open", "complete" or "expired".
    public var status: String?
    /// "paid", "unpaid" or "no_payment_required".
    public var paymentStatus: String?
    public var paymentIntentID: String?
    public var customerID: String?
    /// Our purchase id.
    public var clientReferenceID: String?
    public var metadata: [String: String]
    /// Minor units of `currency`.
    public var amountTotal: Int64?
    public var currency: String?

    public init(
        id: String, url: String? = nil, status: String? = nil, paymentStatus: String? = nil, paymentIntentID: String? = nil,
        customerID: String? = nil, clientReferenceID: String? = nil, metadata: [String: String] = [:], amountTotal: Int64? = nil,
        currency: String? = nil
    ) {
        self.id = id
        self.url = url
        self.status = status
        self.paymentStatus = paymentStatus
        self.paymentIntentID = paymentIntentID
        self.customerID = customerID
        self.clientReferenceID = clientReferenceID
        self.metadata = metadata
        self.amountTotal = amountTotal
        self.currency = currency
    }

    public var isPaid: Bool { paymentStatus == "paid" }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "checkout.session")) }
    public init(bytes: some Collection<UInt8>) throws(StripeDecodingError) {
        try self.init(StripeObjectReader(bytes: bytes, kind: "checkout.session"))
    }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        url = reader.optionalString("url")
        status = reader.optionalString("status")
        paymentStatus = reader.optionalString("payment_status")
        paymentIntentID = reader.reference("payment_intent")
        customerID = reader.reference("customer")
        clientReferenceID = reader.optionalString("client_reference_id")
        metadata = reader.metadata()
        amountTotal = reader.optionalInteger("amount_total")
        currency = reader.optionalString("currency")
    }
}
