import KeygateCore

/// An error answer from Stripe (`{"error":{…}}`), or a PaymentIntent's `last_payment_error`.
///
/// Never holds a secret: it is built from the response body only (no request headers), and `description` masks
/// anything shaped like a Stripe key in Stripe's message (Stripe already masks keys it echoes; a fake might not).
public struct StripeAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Nil for an error embedded in an object (`last_payment_error`), not read from an HTTP answer.
    public var httpStatus: Int?
    /// `api_error`, `card_error`, `idempotency_error`, `invalid_request_error`, …
    public var type: String?
    /// `card_declined`, `authentication_required`, `lock_timeout`, …
    public var code: String?
    /// For declines: `insufficient_funds`, `generic_decline`, …
    public var declineCode: String?
    public var message: String?
    public var param: String?
    /// Real Stripe embeds the PaymentIntent in a payment error; localstripe only names the charge.
    public var paymentIntentID: String?
    public var chargeID: String?

    public init(
        httpStatus: Int?, type: String? = nil, code: String? = nil, declineCode: String? = nil, message: String? = nil,
        param: String? = nil, paymentIntentID: String? = nil, chargeID: String? = nil
    ) {
        self.httpStatus = httpStatus
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.paymentIntentID = paymentIntentID
        self.chargeID = chargeID
    }

    /// Parses an error answer. Never fails: a body that is not Stripe's error shape (localstripe's text/plain 404,
    /// a proxy's HTML page) still gives an error classified by its status.
    public init(httpStatus: Int, body: some Collection<UInt8>) {
        if let json = try? JSONValue.decode(body), case .object(let error) = json["error"] {
            self.init(httpStatus: httpStatus, error: error)
        } else {
            self.init(httpStatus: httpStatus)
        }
    }

    /// From the inner `error` (or `last_payment_error`) object.
    public init(httpStatus: Int?, error: JSONObject) {
        func reference(_ key: String) -> String? {
            switch error[key] {
            case .string(let id): return id
            case .object(let expanded): return expanded["id"]?.stringValue
            default: return nil
            }
        }
        self.init(
            httpStatus: httpStatus, type: error["type"]?.stringValue, code: error["code"]?.stringValue,
            declineCode: error["decline_code"]?.stringValue, message: error["message"]?.stringValue.map(Self.maskingKeys),
            param: error["param"]?.stringValue,
            paymentIntentID: reference("payment_intent"), chargeID: reference("charge"))
    }

    /// Classified by status and code before type: localstripe sends a decline as HTTP 402 with
    /// `type: invalid_request_error, code: card_declined`.
    public var kind: StripeAPIErrorKind {
        if httpStatus == 401 || httpStatus == 403 { return .authentication }
        if type == "idempotency_error" || code == "idempotency_key_in_use" { return .idempotency }
        if httpStatus == 429 || code == "rate_limit" { return .rateLimited }
        if let status = httpStatus, status >= 500 { return .serverError }
        if code == "authentication_required" { return .authenticationRequired }
        if httpStatus == 402 || type == "card_error" || code == "card_declined" { return .cardDeclined }
        if type == "api_error" { return .serverError }
        return .invalidRequest
    }

    /// Worth retrying with the same idempotency key: 429, 5xx, and 409 conflicts (a lock timeout, or the same key
    /// still in flight). Not a reused key with different parameters.
    public var isRetryable: Bool {
        guard let status = httpStatus else { return false }
        if status == 429 || status >= 500 { return true }
        if status == 409 { return type != "idempotency_error" || code == "idempotency_key_in_use" }
        return false
    }

    /// In words an org admin can act on; shown on the purchase and the auto top-up status.
    public var customerFacingReason: String {
        switch kind {
        case .cardDeclined:
            switch code {
            case "expired_card": return "Your card has expired: buy credits through checkout with a valid card"
            case "incorrect_cvc": return "Your card's security code was incorrect"
            case "processing_error": return "The card could not be processed: try again in a few minutes"
            default:
                guard let decline = declineCode, decline != "generic_decline" else { return "Your card was declined" }
                return "Your card was declined (\(decline.replacingOccurrences(of: "_", with: " ")))"
            }
        case .authenticationRequired:
            return "The bank asks the cardholder to authenticate this payment: "
                + "buy credits once through checkout to approve the card for top-ups"
        case .rateLimited, .serverError, .idempotency:
            return "The payment provider is temporarily unavailable: try again in a few minutes"
        case .authentication:
            return "Payments are not configured correctly on this gateway: contact its operator"
        case .invalidRequest:
            return "The payment could not be started: contact the gateway's operator"
        }
    }

    public var description: String {
        var parts = ["Stripe error"]
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        parts.append(kind.rawValue)
        if let type { parts.append("type=\(type)") }
        if let code { parts.append("code=\(code)") }
        if let declineCode { parts.append("decline_code=\(declineCode)") }
        if let param { parts.append("param=\(param)") }
        if let paymentIntentID { parts.append("payment_intent=\(paymentIntentID)") }
        if let chargeID { parts.append("charge=\(chargeID)") }
        var text = parts.joined(separator: " ")
        if let message { text += ": " + Self.maskingKeys(message) }  // again: the memberwise init takes any text
        return text
    }

    /// Replaces words that look like Stripe secrets (`sk_…`, `rk_…`, `whsec_…`) with a marker.
    static func maskingKeys(_ text: String) -> String {
        let prefixes = ["sk_", "rk_", "whsec_"]
        var out = ""
        var word = ""
        func flush() {
            out += prefixes.contains(where: { word.hasPrefix($0) }) ? "[redacted]" : word
            word = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || character == "_" || character == "*" {
                word.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }
}
