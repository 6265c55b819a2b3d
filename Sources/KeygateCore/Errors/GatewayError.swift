/// An error Keygate answers a client with, in the OpenAI error format (`{"error":{"message","type","param","code"}}`).
///
/// Invariant: `message` never contains a secret. Constructors take only what is safe to show (provider ids,
/// parameter names, masked previews); upstream text passes through `SecretScrubber` first.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public var statusCode: Int
    public var type: String
    public var code: String?
    public var message: String
    public var param: String?
    /// Seconds (or an HTTP date) to put in `retry-after`, for 429 and 503.
    public var retryAfter: String?
    /// How the request was to be paid, when routing got that far (for `x-keygate-billing`).
    public var billing: BillingPath?

    public init(status: Int, type: String, code: String?, message: String, param: String? = nil, retryAfter: String? = nil) {
        self.statusCode = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    public var description: String { "\(statusCode) \(code ?? type): \(message)" }

    // MARK: The caller's side

    public static let missingAPIKey = GatewayError(
        status: 401, type: "invalid_request_error", code: "missing_api_key",
        message: "No Keygate API key was sent. Send it as 'Authorization: Bearer <key>'; an org admin can create one with 'keygate apikey create'.")

    public static let invalidAPIKey = GatewayError(
        status: 401, type: "invalid_request_error", code: "invalid_api_key",
        message: "The Keygate API key is not valid or has been revoked. Check the key you sent, or ask an org admin for a new one.")

    public static func badRequest(_ message: String, param: String? = nil, code: String = "invalid_request") -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: code, message: message, param: param)
    }

    public static func duplicateField(_ name: String) -> GatewayError {
        badRequest("'\(name)' appears more than once in the request body. Send each field once.", param: name, code: "duplicate_field")
    }

    public static func invalidJSON(_ detail: String) -> GatewayError {
        badRequest("The request body is not valid JSON (\(detail)). Send a JSON object with 'model' and 'messages'.", code: "invalid_json")
    }

    public static func missingField(_ param: String, expected: String) -> GatewayError {
        badRequest("Missing required parameter '\(param)': expected \(expected).", param: param, code: "missing_required_parameter")
    }

    public static func wrongType(_ param: String, expected: String, found: String) -> GatewayError {
        badRequest("Invalid type for '\(param)': expected \(expected), but got \(found).", param: param, code: "invalid_type")
    }

    public static func modelNotFound(_ model: String) -> GatewayError {
        GatewayError(
            status: 404, type: "invalid_request_error", code: "model_not_found",
            message: "The model '\(model)' is not in this gateway's catalog. List the available models with GET /v1/models, and use an id from it (for example 'openai/gpt-5.6-luna').",
            param: "model")
    }

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        GatewayError(
            status: 413, type: "invalid_request_error", code: "request_too_large",
            message: "The request body is larger than this gateway accepts (\(limit) bytes). Send a smaller request, for example fewer or smaller images.")
    }

    public static func routeNotFound(_ path: String) -> GatewayError {
        GatewayError(status: 404, type: "invalid_request_error", code: "unknown_url",
                     message: "Unknown route '\(path)'. The API is served under /v1 (POST /v1/chat/completions, GET /v1/models).")
    }

    // MARK: The provider's side

    public static func upstreamRateLimited(provider: String, retryAfter: String?) -> GatewayError {
        GatewayError(status: 429, type: "rate_limit_error", code: "rate_limit_exceeded",
                     message: "Provider '\(provider)' is rate limiting requests. Retry after the time in the retry-after header.",
                     retryAfter: retryAfter)
    }

    public static func upstreamFailed(provider: String, status: Int?) -> GatewayError {
        let what = status.map { "answered with HTTP \($0)" } ?? "could not be reached"
        return GatewayError(status: 502, type: "api_error", code: "upstream_error",
                            message: "Provider '\(provider)' \(what). This is not a problem with your request; retry shortly.")
    }

    public static func upstreamTimeout(provider: String, phase: String) -> GatewayError {
        GatewayError(status: 504, type: "api_error", code: "upstream_timeout",
                     message: "Provider '\(provider)' did not answer in time (\(phase)). Retry, or ask for a shorter answer.")
    }

    /// The platform's own key was refused: the caller did nothing wrong, so this is a 502, not a 401.
    public static func platformKeyRejected(provider: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: "upstream_auth_failed",
                     message: "Provider '\(provider)' refused the platform's credentials. This is not a problem with your request or your Keygate key; the operator must fix the provider key. Retry later.")
    }

    public static func providerNotConfigured(provider: String) -> GatewayError {
        GatewayError(status: 503, type: "api_error", code: "provider_not_configured",
                     message: "Provider '\(provider)' has no platform key configured on this gateway. Ask the operator to set one, or use another model.")
    }

    /// An upstream 4xx about the request itself (bad parameter, context too long): relayed with its status.
    public static func upstreamRejectedRequest(provider: String, status: Int, message: String?, param: String?, code: String?) -> GatewayError {
        let detail = message.map { ": " + $0 } ?? "."
        return GatewayError(status: status, type: "invalid_request_error", code: code ?? "upstream_rejected_request",
                            message: "Provider '\(provider)' rejected the request\(detail)", param: param)
    }
}

extension GatewayError {
    /// The platform's provider account is out of quota: the operator's problem, not the caller's.
    public static func platformQuotaExhausted(provider: String) -> GatewayError {
        GatewayError(status: 503, type: "api_error", code: "upstream_quota_exhausted",
                     message: "Provider '\(provider)' reports the platform account is out of quota. This is not a problem with your request; the operator must top up the provider account. Retry later.")
    }
}

extension GatewayError {
    public func billed(_ billing: BillingPath) -> GatewayError {
        var copy = self
        copy.billing = billing
        return copy
    }
}
