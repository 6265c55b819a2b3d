/// One value of a Stripe form parameter before flattening: Stripe's form encoding nests objects and arrays with
/// brackets (`line_items[0][price_data][currency]=usd`). Object entries keep their order so the encoded body is
/// deterministic (tests and idempotent retries send the same bytes).
public indirect enum StripeFormValue: Sendable {
    case string(String)
    case object([(String, StripeFormValue)])
    case array([StripeFormValue])

    public static func integer(_ value: Int64) -> StripeFormValue { .string(String(value)) }
    public static func boolean(_ value: Bool) -> StripeFormValue { .string(value ? "true" : "false") }

    /// Metadata as an object with its keys sorted (a dictionary has no order of its own).
    public static func metadata(_ values: [String: String]) -> StripeFormValue {
        .object(values.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }
}
