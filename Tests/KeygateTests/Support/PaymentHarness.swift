import Foundation
import KeygateCore
import KeygateFakeUpstream
import KeygateServer
import KeygateStore
import NIOHTTP1

/// A gateway (`GatewayHarness`) whose Stripe is a `FakeStripe` on 127.0.0.1, with an admin key for the
/// organisation's payment routes.
final class PaymentHarness: @unchecked Sendable {
    static let stripeSecret = "sk_test_keygateSECRET0123456789abcdef"
    static let webhookSecret = "whsec_keygateWEBHOOKsecret0123456789"
    let h: GatewayHarness
    let stripe: FakeStripe
    let stripePort: Int
    let adminKey: String
    private let stripeTask: Task<Void, Error>

    private init(h: GatewayHarness, stripe: FakeStripe, stripePort: Int, adminKey: String, stripeTask: Task<Void, Error>) {
        self.h = h
        self.stripe = stripe
        self.stripePort = stripePort
        self.adminKey = adminKey
        self.stripeTask = stripeTask
    }

    static func start(environment extra: [String: String] = [:], startingCredits: MicroCredits = .credits(1000)) async throws -> PaymentHarness {
        let stripe = FakeStripe(secretKey: stripeSecret)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let stripeTask = Task { try await stripe.run(port: 0) { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let stripePort = await iterator.next() else { throw CancellationError() }
        var environment = [
            "KEYGATE_STRIPE_BASE_URL": "http://127.0.0.1:\(stripePort)",
            "KEYGATE_STRIPE_SECRET_KEY": stripeSecret,
            "KEYGATE_STRIPE_WEBHOOK_SECRET": webhookSecret,
            "KEYGATE_PUBLIC_URL": "https://gateway.example.com",
        ]
        environment.merge(extra) { $1 }
        let h = try await GatewayHarness.start(environment: environment, startingCredits: startingCredits)
        let (_, admin) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true)
        return PaymentHarness(h: h, stripe: stripe, stripePort: stripePort, adminKey: admin, stripeTask: stripeTask)
    }

    func stop() async {
        await h.stop()
        stripeTask.cancel()
        _ = await stripeTask.result
    }

    var webhookURL: String { h.baseURL + "/webhooks/stripe" }

    func api(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> GatewayHarness.Reply {
        try await h.request(method, "/api/orgs/acme" + path, body: body, key: adminKey)
    }

    /// Starts a checkout of `pack` through the API; returns the purchase and session ids.
    func checkout(_ pack: String = "starter") async throws -> (purchaseID: String, sessionID: String) {
        let reply = try await api(.POST, "/checkout", body: #"{"pack":"\#(pack)"}"#)
        guard reply.status == 201, let purchase = reply.json?["purchase_id"] as? String, let session = reply.json?["session_id"] as? String else {
            throw HarnessFailure("checkout answered \(reply.status): \(reply.text)")
        }
        return (purchase, session)
    }

    /// Delivers an event signed with the gateway's webhook secret; returns the HTTP status.
    @discardableResult
    func deliver(_ event: FakeStripeEvent, timestamp: Int64? = nil) async throws -> Int {
        try await stripe.deliver(event, to: webhookURL, secret: Self.webhookSecret, timestamp: timestamp)
    }

    /// Buys `pack` by checkout, paid with `paymentMethod`, and delivers the completion: the card is saved.
    @discardableResult
    func buy(_ pack: String = "starter", paymentMethod: String = "pm_card_visa") async throws -> String {
        let (purchaseID, sessionID) = try await checkout(pack)
        let status = try await deliver(try stripe.completeCheckout(sessionID: sessionID, paymentMethod: paymentMethod))
        guard status == 200 else { throw HarnessFailure("the completed checkout's webhook answered \(status)") }
        return purchaseID
    }

    func balance() async throws -> CreditBalance {
        try await h.gateway.store.balance(organizationID: h.organization.id)
    }

    func entries(_ kind: LedgerEntryKind) async throws -> [LedgerEntry] {
        try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 1000).filter { $0.kind == kind }
    }

    func purchase(_ id: String) async throws -> PurchaseRecord? {
        try await h.gateway.store.purchase(id: id)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh payment harness and always stops it.
func withPayments(
    environment: [String: String] = [:], startingCredits: MicroCredits = .credits(1000), _ body: (PaymentHarness) async throws -> Void
) async throws {
    let harness = try await PaymentHarness.start(environment: environment, startingCredits: startingCredits)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}
