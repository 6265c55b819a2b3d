/// One Stripe API call, without credentials: the HTTP client adds `Authorization`, `Stripe-Version` and sends
/// `idempotencyKey` as `Idempotency-Key`. Holds nothing secret, so it may be logged.
public struct StripeRequest: Sendable {
    public static let formContentType = "application/x-www-form-urlencoded"

    /// "GET" or "POST".
    public var method: String
    /// From `/v1/…`, appended to the configured API origin.
    public var path: String
    public var form: StripeForm
    /// Derived from our own record ids so a retry after a timeout replays Stripe's first answer instead of
    /// charging twice. Nil for GETs.
    public var idempotencyKey: String?

    public init(method: String, path: String, form: StripeForm = StripeForm(), idempotencyKey: String? = nil) {
        self.method = method
        self.path = path
        self.form = form
        self.idempotencyKey = idempotencyKey
    }

    /// The path, with the form as query string for a GET that has parameters.
    public var pathAndQuery: String {
        method == "GET" && !form.isEmpty ? path + "?" + form.encoded : path
    }

    /// The form-encoded body of a POST, nil for a GET.
    public var body: [UInt8]? {
        method == "POST" ? Array(form.encoded.utf8) : nil
    }
}
