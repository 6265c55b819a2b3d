import KeygateCore

/// A Stripe customer: only its id matters to Keygate (stored once per organisation).
public struct StripeCustomer: Sendable, Hashable {
    public var id: String

    public init(id: String) {
        self.id = id
    }

    public init(json: JSONValue) throws(StripeDecodingError) { try self.init(StripeObjectReader(json, kind: "customer")) }
    public init(bytes: some Collection<UInt8>) throws(StripeDecodingError) { try self.init(StripeObjectReader(bytes: bytes, kind: "customer")) }

    init(_ reader: StripeObjectReader) throws(StripeDecodingError) {
        id = try reader.string("id")
    }
}
