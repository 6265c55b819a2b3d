/// An error Keygate answers a client with, in the OpenAI error format (`{"error":{"message","type","param","code"}}`).
/// Build one with its code's factory in the catalog (`GatewayError+Catalog.swift`).
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
}

extension GatewayError {
    public func billed(_ billing: BillingPath) -> GatewayError {
        var copy = self
        copy.billing = billing
        return copy
    }
}
