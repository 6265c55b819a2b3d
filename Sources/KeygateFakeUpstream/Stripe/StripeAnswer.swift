/// One answer of the fake Stripe API: a status and a Stripe-shaped body. Thrown for errors, so a handler
/// can stop at the first failed check. `stored` says whether an `Idempotency-Key` keeps it for replay:
/// Stripe saves the answer once the endpoint has started executing (successes, card errors), not when the
/// parameters failed validation.
struct StripeAnswer: Error, Sendable {
    var status: Int
    var body: StripeJSON
    var stored: Bool

    static func ok(_ object: StripeJSON) -> StripeAnswer { StripeAnswer(status: 200, body: object, stored: true) }

    /// A 400 `invalid_request_error` (not stored for replay: validation failed).
    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil, status: Int = 400) -> StripeAnswer {
        var error: StripeJSON = [:]
        if let code {
            error["code"] = .string(code)
            error["doc_url"] = .string("https://stripe.com/docs/error-codes/" + code.replacingOccurrences(of: "_", with: "-"))
        }
        error["message"] = .string(message)
        if let param { error["param"] = .string(param) }
        error["request_log_url"] = "https://dashboard.stripe.com/test/logs"
        error["type"] = "invalid_request_error"
        return StripeAnswer(status: status, body: ["error": error], stored: false)
    }

    static func missing(_ param: String) -> StripeAnswer {
        invalidRequest("Missing required param: \(param).", param: param, code: "parameter_missing")
    }

    static func noSuch(_ kind: String, _ id: String, param: String, status: Int = 400) -> StripeAnswer {
        invalidRequest("No such \(kind): '\(id)'", param: param, code: "resource_missing", status: status)
    }
}
