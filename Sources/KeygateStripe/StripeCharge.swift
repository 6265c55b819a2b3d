import KeygateCore

/// A Charge, as carried by `charge.refunded`. `amountRefunded` is cumulative: the ledger debit of one event is its
/// increase over what was already taken back.
public struct StripeCharge: Sendable, Hashable {
    public var id: String
    public var paymentIntentID: String?
    /// Minor units of `currency`.
    public var amount: Int64
    public var amountRefunded: Int64
    public var currency: String
    public var metadata: [String: String]

    public init(
        id: String, paymentIntentID: String? = nil, amount: Int64, amountRefunded: Int64, currency: String, metadata: [String: String] = [:]
    ) {
        self.id = id
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.amountRefunded = amountRefunded
        self.currency = currency
        self.metadata = metadata
    }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "charge")) }
    public init(bytes: some Collection<UInt8>) throws(StripeDecodingError) { try self.init(StripeObjectReader(bytes: bytes, kind: "charge")) }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        paymentIntentID = reader.reference("payment_intent")
        amount = try reader.integer("amount")
        amountRefunded = try reader.integer("amount_refunded")
        currency = try reader.string("currency")
        metadata = reader.metadata()
    }
}
