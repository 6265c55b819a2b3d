import KeygateCore

/// The envelope of a webhook event. `id` is the deduplication key: Stripe may deliver an event several times and
/// out of order, so its effect is stored together with this id, once.
public struct StripeEvent: Sendable, Hashable {
    public var id: String
    /// e.g. "checkout.session.completed".
    public var type: String
    /// Unix seconds.
    public var created: Int64
    /// The version the object is rendered in (the webhook endpoint's, not our pinned request version).
    public var apiVersion: String?
    /// `data.object`: the object as it was when the event happened.
    public var object: JSONValue

    public init(id: String, type: String, created: Int64, apiVersion: String? = nil, object: JSONValue) {
        self.id = id
        self.type = type
        self.created = created
        self.apiVersion = apiVersion
        self.object = object
    }

    /// Parses the raw (already signature-checked) body.
    public static func parse(_ payload: [UInt8]) throws(StripeDecodingError) -> StripeEvent {
        let reader = try StripeObjectReader(bytes: payload, kind: "event")
        guard case .object(let data) = reader.object["data"], let object = data["object"], case .object = object else {
            throw StripeDecodingError(object: "event", field: "data.object", reason: "must be an object")
        }
        return StripeEvent(
            id: try reader.string("id"), type: try reader.string("type"), created: try reader.integer("created"),
            apiVersion: reader.optionalString("api_version"), object: object)
    }
}
