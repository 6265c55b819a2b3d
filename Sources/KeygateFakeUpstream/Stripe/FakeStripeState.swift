import Foundation

/// Everything the fake Stripe holds, behind one lock: its objects (as Stripe renders them, by id), the cards'
/// behaviours, the events in order, the requests received, the idempotent answers, the pending faults.
struct FakeStripeState: Sendable {
    /// The first answer given under an `Idempotency-Key`, with what it was given for.
    struct IdempotentAnswer: Sendable {
        var method: String
        var path: String
        /// The parameters, sorted: Stripe compares parameters, not their order on the wire.
        var parameters: [String]
        var answer: StripeAnswer
    }

    let apiVersion: String
    /// Every object by id; the id's prefix says the kind (`cus_`, `cs_test_`, `pi_`, `ch_`, `pm_`, `re_`, `du_`).
    var objects: [String: StripeJSON] = [:]
    var cards: [String: StripeTestCard] = [:]
    /// A checkout session's `payment_intent_data` (rendered as a hash), used when it completes.
    var sessionIntentData: [String: StripeJSON] = [:]
    var events: [FakeStripeEvent] = []
    var requests: [FakeStripeRequest] = []
    var idempotent: [String: IdempotentAnswer] = [:]
    /// Statuses (500 or 429) the next API requests answer with, in order.
    var failures: [Int] = []
    /// Seconds the next API requests wait before answering, in order.
    var delays: [Double] = []

    init(apiVersion: String) { self.apiVersion = apiVersion }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    /// A Stripe-like id: the prefix and random letters and digits.
    static func newID(_ prefix: String, length: Int = 24) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return prefix + String((0..<length).map { _ in alphabet.randomElement()! })
    }

    /// The object with this id if it is of this kind (`object` field).
    func object(_ id: String, kind: String) -> StripeJSON? {
        guard let object = objects[id], object["object"]?.string == kind else { return nil }
        return object
    }

    /// Records an event about `object` (a snapshot of it now) and returns it.
    @discardableResult
    mutating func emit(
        _ type: String, _ object: StripeJSON, previous: StripeJSON? = nil, requestID: String? = nil, idempotencyKey: String? = nil
    ) -> FakeStripeEvent {
        let id = Self.newID("evt_")
        let created = Self.now()
        var data: StripeJSON = ["object": object]
        if let previous { data["previous_attributes"] = previous }
        let event: StripeJSON = [
            "id": .string(id), "object": "event", "api_version": .string(apiVersion), "created": .int(created), "data": data,
            "livemode": false, "pending_webhooks": 1,
            "request": ["id": .optional(requestID), "idempotency_key": .optional(idempotencyKey)], "type": .string(type),
        ]
        let recorded = FakeStripeEvent(id: id, type: type, created: Int64(created), json: event.bytes)
        events.append(recorded)
        return recorded
    }

    /// `metadata[…]` as Stripe renders it: a hash of strings; an empty value unsets its key.
    static func metadata(_ node: StripeForm.Node?) -> StripeJSON {
        guard case .hash(let fields)? = node else { return [:] }
        return .object(fields.compactMap { field in field.node.text.map { (key: field.key, value: StripeJSON.string($0)) } })
    }
}
