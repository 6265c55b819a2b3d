import KeygateCore

/// A Dispute (chargeback), as carried by `charge.dispute.*`. On `charge.dispute.closed`, `status` "won" means the
/// money (and so the credits) comes back; "lost" means it stays taken.
public struct StripeDispute: Sendable, Hashable {
    public var id: String
    public var chargeID: String
    public var paymentIntentID: String?
    /// Minor units of `currency`.
    public var amount: Int64
    public var currency: String
    /// "warning_needs_response", "needs_response", "under_review", "won", "lost", …
    public var status: String

    public init(id: String, chargeID: String, paymentIntentID: String? = nil, amount: Int64, currency: String, status: String) {
        self.id = id
        self.chargeID = chargeID
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.currency = currency
        self.status = status
    }

    public var isWon: Bool { status == "won" }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "dispute")) }
    public init(bytes: some Collection<UInt8>) throws(StripeDecodingError) { try self.init(StripeObjectReader(bytes: bytes, kind: "dispute")) }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
        guard let charge = reader.reference("charge") else { throw reader.missing("charge", "a charge id") }
        chargeID = charge
        paymentIntentID = reader.reference("payment_intent")
        amount = try reader.integer("amount")
        currency = try reader.string("currency")
        status = try reader.string("status")
    }
}
