import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The Stripe API routes and what every call goes through, in Stripe's order: the request is recorded, the
/// secret key checked (401), an injected fault taken, an `Idempotency-Key` already used replays its first
/// answer (or, with other parameters, is refused with `idempotency_error`), then the parameters are parsed and
/// checked and the endpoint runs; its answer is kept under the key unless validation refused it.
extension FakeStripe {
    /// What a handler knows of the call besides its parameters (events name the request that caused them).
    struct Call: Sendable {
        var requestID: String
        var idempotencyKey: String?
    }

    typealias Handler = @Sendable (inout FakeStripeState, StripeForm, Call) throws -> StripeAnswer

    func addAPIRoutes(to router: Router<FakeContext>) {
        router.post("/v1/customers") { request, _ in
            try await self.serve(request) { state, form, _ in try state.createCustomer(form) }
        }
        router.post("/v1/checkout/sessions") { request, _ in
            try await self.serve(request) { state, form, _ in try state.createCheckoutSession(form) }
        }
        router.post("/v1/payment_intents") { request, _ in
            try await self.serve(request) { state, form, call in try state.createPaymentIntent(form, call: call) }
        }
        router.get("/v1/payment_methods") { request, _ in
            try await self.serve(request) { state, form, _ in try state.listPaymentMethods(form) }
        }
        let retrievable: [(path: String, kind: String, name: String)] = [
            ("/v1/customers", "customer", "customer"), ("/v1/checkout/sessions", "checkout.session", "checkout.session"),
            ("/v1/payment_intents", "payment_intent", "payment_intent"), ("/v1/charges", "charge", "charge"),
            ("/v1/payment_methods", "payment_method", "PaymentMethod"),
        ]
        for route in retrievable {
            router.get(RouterPath(route.path + "/:id")) { request, context in
                let id = context.parameters.get("id") ?? ""
                return try await self.serve(request) { state, form, _ in try state.retrieve(id, kind: route.kind, name: route.name, form) }
            }
        }
    }

    func serve(_ request: Request, _ handle: Handler) async throws -> Response {
        let method = request.method.rawValue
        let bytes: [UInt8] =
            request.method == .get
            ? Array((request.uri.query ?? "").utf8) : Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        let parsed = Result { () throws(StripeAnswer) in try StripeForm.parse(bytes) }
        let pairs = (try? parsed.get())?.pairs ?? []
        let recorded = FakeStripeRequest(
            method: method, path: request.uri.path, query: request.uri.query ?? "", headers: headers,
            rawBody: request.method == .get ? [] : bytes, parameters: pairs.map { (name: $0.key, value: $0.value) })
        let key = request.method == .post ? headers["idempotency-key"] : nil
        let call = Call(requestID: FakeStripeState.newID("req_", length: 14), idempotencyKey: key)
        let secretKey = self.secretKey
        let (answer, delay, replayed) = state.withLock { state -> (StripeAnswer, Double?, Bool) in
            state.requests.append(recorded)
            if let refused = Self.authenticate(headers["authorization"], secretKey: secretKey) { return (refused, nil, false) }
            let fault = state.failures.isEmpty ? nil : state.failures.removeFirst()
            let delay = state.delays.isEmpty ? nil : state.delays.removeFirst()
            if fault == 429 { return (Self.rateLimited, delay, false) }
            var answer: StripeAnswer
            var replayed = false
            let sorted = pairs.map { "\($0.key)=\($0.value)" }.sorted()
            if let key, let first = state.idempotent[key] {
                if first.method == method && first.path == recorded.path && first.parameters == sorted {
                    answer = first.answer
                    replayed = true
                } else {
                    answer = Self.idempotencyMismatch(key)
                }
            } else if let key, key.count > 255 {
                answer = .invalidRequest("Idempotency-Key must be at most 255 characters long.")
            } else {
                do {
                    answer = try handle(&state, try parsed.get(), call)
                } catch let refused as StripeAnswer {
                    answer = refused
                } catch {
                    answer = Self.apiError
                }
                if let key, answer.stored {
                    state.idempotent[key] = .init(method: method, path: recorded.path, parameters: sorted, answer: answer)
                }
            }
            // A 500 here is a lost answer: the endpoint ran and its answer is kept, the caller sees an error.
            if fault == 500 { answer = Self.apiError }
            return (answer, delay, replayed)
        }
        if let delay { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
        var response = Response(
            status: HTTPResponse.Status(code: answer.status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body.bytes)))
        response.headers[HTTPField.Name("Request-Id")!] = call.requestID
        response.headers[HTTPField.Name("Stripe-Version")!] = headers["stripe-version"] ?? state.withLock { $0.apiVersion }
        if let key { response.headers[HTTPField.Name("Idempotency-Key")!] = key }
        if replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        if answer.status == 401 { response.headers[.wwwAuthenticate] = "Bearer realm=\"Stripe\"" }
        if answer.status >= 500 { response.headers[HTTPField.Name("Stripe-Should-Retry")!] = "true" }
        return response
    }

    /// Stripe's answer to a missing or wrong secret key; a wrong key is echoed masked, all but its last 4
    /// characters hidden behind its `sk_test_`-style prefix, as Stripe does.
    static func authenticate(_ authorization: String?, secretKey: String) -> StripeAnswer? {
        guard let authorization, !authorization.isEmpty else {
            return StripeAnswer(
                status: 401,
                body: [
                    "error": [
                        "message": .string(
                            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth "
                                + "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                                + "or we can help at https://support.stripe.com/."),
                        "type": "invalid_request_error",
                    ]
                ], stored: false)
        }
        var sent = authorization
        if authorization.hasPrefix("Bearer ") {
            sent = String(authorization.dropFirst(7))
        } else if authorization.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(authorization.dropFirst(6))) {
            sent = String(String(decoding: decoded, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false).first ?? "")
        }
        guard sent != secretKey else { return nil }
        return StripeAnswer(
            status: 401,
            body: ["error": ["message": .string("Invalid API Key provided: " + masked(sent)), "type": "invalid_request_error"]],
            stored: false)
    }

    static func masked(_ key: String) -> String {
        let prefix = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"].first { key.hasPrefix($0) } ?? ""
        let rest = key.dropFirst(prefix.count)
        return prefix + String(repeating: "*", count: max(0, rest.count - 4)) + rest.suffix(4)
    }

    static let rateLimited = StripeAnswer(
        status: 429,
        body: [
            "error": [
                "code": "rate_limit", "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
                "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                "type": "invalid_request_error",
            ]
        ], stored: false)

    static let apiError = StripeAnswer(
        status: 500, body: ["error": ["message": "An unknown error occurred", "type": "api_error"]], stored: false)

    static func idempotencyMismatch(_ key: String) -> StripeAnswer {
        StripeAnswer(
            status: 400,
            body: [
                "error": [
                    "message": .string(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                            + "Try using a key other than '\(key)' if you meant to execute a different request."),
                    "type": "idempotency_error",
                ]
            ], stored: false)
    }
}
