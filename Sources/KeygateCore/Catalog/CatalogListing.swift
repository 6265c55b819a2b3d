/// A catalog as an operator reads it: prices in USD per million tokens with their exact decimals.
public enum CatalogListing {
    public static let header = "model\tinput\toutput\tcached_input\tcache_write\treasoning\tmax_output\tcontext\tsource"

    /// One tab-separated line per model (optionally one provider's), in catalog order.
    public static func lines(_ catalog: Catalog, provider: String? = nil) -> [String] {
        let wanted = provider.flatMap { catalog.provider(named: $0)?.id } ?? provider
        return catalog.models.filter { wanted == nil || $0.provider == wanted }.map { model in
            ([model.provider + "/" + model.id] + fields(model).map(\.value) + [model.source ?? "operator"]).joined(separator: "\t")
        }
    }

    /// `input 5.00 output 30.00 …`: the fields of `fields` named, on one line.
    public static func describe(_ model: ModelSpec) -> String {
        fields(model).map { "\($0.name) \($0.value)" }.joined(separator: " ")
    }

    /// The prices and limits of a model as text, in a fixed order ("-" for none).
    public static func fields(_ model: ModelSpec) -> [(name: String, value: String)] {
        [
            ("input", usd(model.input)), ("output", usd(model.output)), ("cached_input", usd(model.cachedInput)),
            ("cache_write", usd(model.cacheWrite)), ("reasoning", model.reasoning.map(usd) ?? "-"),
            ("max_output", model.maxOutputTokens.map(String.init) ?? "-"), ("context", model.contextWindow.map(String.init) ?? "-"),
        ]
    }

    /// µUSD per million tokens as USD per million, exact, at least two decimals (`5.00`, `0.0375`).
    public static func usd(_ price: MicroUSD) -> String {
        DecimalFormat.string(price.value, scale: 6, minimumFractionDigits: 2)
    }
}
