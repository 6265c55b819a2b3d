import Foundation
import Hummingbird
import Logging
import Synchronization

/// A fake Stripe for tests and scripts, written from Stripe's documented behaviour and independently of
/// Keygate's own Stripe client, so that it checks the client against what Stripe checks: the secret key,
/// form-encoded parameters (names at every depth, types, required ones), `Idempotency-Key` replay, the test
/// cards' declines, Stripe-shaped answers. The API routes are `/v1/customers`, `/v1/checkout/sessions`,
/// `/v1/payment_intents`, `/v1/charges/{id}`, `/v1/payment_methods?customer=` and `/v1/payment_methods/{id}`.
///
/// What Stripe does on its own side (a customer paying on the Checkout page, a refund in the Dashboard, a
/// dispute) is done by the test helpers (`completeCheckout`, `refund`, `openDispute`, …), which change the
/// objects and return the event Stripe would send; `deliver` posts an event signed as Stripe signs it.
/// Every event is also kept in `events`, in order. Scripts reach the same helpers over HTTP under
/// `/_fake/stripe/` (no authentication).
public final class FakeStripe: Sendable {
    /// The API version events are rendered in (Keygate pins the same one in `Stripe-Version`).
    public static let defaultAPIVersion = "2026-09-30.endive"

    let secretKey: String
    let state: Mutex<FakeStripeState>

    /// `secretKey` is the only key the API accepts (`Authorization: Bearer <key>`, or Basic `<key>:`).
    public init(secretKey: String, apiVersion: String = FakeStripe.defaultAPIVersion) {
        self.secretKey = secretKey
        state = Mutex(FakeStripeState(apiVersion: apiVersion))
    }

    /// Every API request received, in order (control routes are not recorded).
    public var requests: [FakeStripeRequest] { state.withLock { $0.requests } }
    /// Every event that happened, in order.
    public var events: [FakeStripeEvent] { state.withLock { $0.events } }

    /// The next `count` API requests answer `status` (500 or 429) with a Stripe error body. A 429 does nothing
    /// else. A 500 is a lost answer: the request is carried out and its real answer kept under its
    /// `Idempotency-Key`, so a retry with the same key gets that answer, and one without makes a second object.
    public func failNext(_ count: Int = 1, status: Int = 500) {
        precondition(status == 500 || status == 429, "failNext takes 500 or 429")
        state.withLock { $0.failures += Array(repeating: status, count: count) }
    }

    /// The next API request is carried out at once but answered only after `seconds` (a client timeout).
    public func delayNext(_ seconds: Double) {
        state.withLock { $0.delays.append(seconds) }
    }

    /// The rendered JSON of an object by id (a customer, session, PaymentIntent, charge, payment method,
    /// refund or dispute), as `GET` would answer it; nil when unknown.
    public func objectJSON(_ id: String) -> [UInt8]? {
        state.withLock { $0.objects[id]?.bytes }
    }

    /// A router serving the API and the control routes; `addRoutes(to:)` adds them to another router.
    public func router() -> Router<FakeContext> {
        let router = Router(context: FakeContext.self)
        addRoutes(to: router)
        return router
    }

    public func addRoutes(to router: Router<FakeContext>) {
        addAPIRoutes(to: router)
        addControlRoutes(to: router)
    }

    /// Runs the fake on 127.0.0.1 until the task is cancelled; `onRunning` gets the bound port.
    public func run(port: Int = 0, logLevel: Logger.Level = .critical, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        var logger = Logger(label: "fake-stripe")
        logger.logLevel = logLevel
        let app = Application(
            router: router(), configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "fake-stripe"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
        try await app.run()
    }
}
