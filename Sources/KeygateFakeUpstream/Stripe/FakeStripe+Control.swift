import Foundation
import Hummingbird
import NIOCore

/// The control routes for scripts (no authentication, under `/_fake/stripe/`): the test helpers over HTTP,
/// each answering the event's JSON, and the list of events. Form parameters as in the API.
extension FakeStripe {
    func addControlRoutes(to router: Router<FakeContext>) {
        router.post("/_fake/stripe/checkout/:id/complete") { request, context in
            let form = try await Self.controlForm(request)
            return self.control {
                try self.completeCheckout(
                    sessionID: context.parameters.get("id") ?? "", paymentMethod: form["payment_method"]?.text ?? "pm_card_visa",
                    paid: form["paid"]?.text != "false", amountOverride: form["amount"]?.text.flatMap { Int($0) },
                    currencyOverride: form["currency"]?.text)
            }
        }
        router.post("/_fake/stripe/checkout/:id/expire") { _, context in
            self.control { try self.expireCheckout(sessionID: context.parameters.get("id") ?? "") }
        }
        router.post("/_fake/stripe/checkout/:id/async_payment_succeeded") { _, context in
            self.control { try self.asyncPaymentSucceeded(sessionID: context.parameters.get("id") ?? "") }
        }
        router.post("/_fake/stripe/checkout/:id/async_payment_failed") { _, context in
            self.control { try self.asyncPaymentFailed(sessionID: context.parameters.get("id") ?? "") }
        }
        router.post("/_fake/stripe/charges/:id/refund") { request, context in
            let form = try await Self.controlForm(request)
            return self.control { try self.refund(chargeID: context.parameters.get("id") ?? "", amount: form["amount"]?.text.flatMap { Int($0) }) }
        }
        router.post("/_fake/stripe/charges/:id/dispute") { request, context in
            let form = try await Self.controlForm(request)
            return self.control {
                try self.openDispute(
                    chargeID: context.parameters.get("id") ?? "", amount: form["amount"]?.text.flatMap { Int($0) },
                    reason: form["reason"]?.text ?? "fraudulent")
            }
        }
        router.post("/_fake/stripe/disputes/:id/close") { request, context in
            let form = try await Self.controlForm(request)
            return self.control { try self.closeDispute(disputeID: context.parameters.get("id") ?? "", won: form["won"]?.text == "true") }
        }
        // The next API request is carried out at once and answered after `seconds` (the caller dies waiting).
        router.post("/_fake/stripe/delay-next") { request, _ in
            let form = try await Self.controlForm(request)
            self.delayNext(form["seconds"]?.text.flatMap { Double($0) } ?? 30)
            return Self.controlResponse(200, Array(#"{"delayed":true}"#.utf8))
        }
        router.get("/_fake/stripe/events") { _, _ in
            let events = self.events
            var body = Array("[".utf8)
            for (index, event) in events.enumerated() { body += (index == 0 ? [] : Array(",\n".utf8)) + event.json }
            return Self.controlResponse(200, body + Array("]".utf8))
        }
    }

    private static func controlForm(_ request: Request) async throws -> StripeForm.Node {
        let bytes = try await request.body.collect(upTo: 1 << 16)
        return (try? StripeForm.parse(Array(bytes.readableBytesView)))?.root ?? .hash([])
    }

    private func control(_ action: () throws -> FakeStripeEvent) -> Response {
        do {
            return Self.controlResponse(200, try action().json)
        } catch {
            let body: StripeJSON = ["error": ["message": .string(String(describing: error)), "type": "invalid_request_error"]]
            return Self.controlResponse(400, body.bytes)
        }
    }

    private static func controlResponse(_ status: Int, _ body: [UInt8]) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
