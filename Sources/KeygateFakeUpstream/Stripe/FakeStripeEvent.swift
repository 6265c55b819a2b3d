/// An event as Stripe sends it to a webhook endpoint. `json` is the exact body to deliver (and to sign):
/// `id`, `object: "event"`, `api_version`, `created`, `data.object` (a snapshot of the object when the event
/// happened), `livemode`, `pending_webhooks`, `request`, `type`.
public struct FakeStripeEvent: Sendable {
    public var id: String
    public var type: String
    public var created: Int64
    public var json: [UInt8]
    public var text: String { String(decoding: json, as: UTF8.self) }
}
