/// One model with its list prices. Prices are `MicroUSD` per million tokens.
public struct ModelSpec: Sendable, Hashable, Codable {
    public var provider: String
    /// The provider's own model id, sent upstream as `model`.
    public var id: String
    public var input: MicroUSD
    public var output: MicroUSD
    /// Price of prompt tokens served from the provider's cache; defaults to the input price.
    public var cachedInput: MicroUSD
    /// The documented output limit; reservations use it when a request sets no `max_tokens`.
    public var maxOutputTokens: Int64?
    public var contextWindow: Int64?

    enum CodingKeys: String, CodingKey {
        case provider, id, input, output
        case cachedInput = "cached_input"
        case maxOutputTokens = "max_output_tokens"
        case contextWindow = "context_window"
    }

    public init(provider: String, id: String, input: MicroUSD, output: MicroUSD, cachedInput: MicroUSD? = nil,
                maxOutputTokens: Int64? = nil, contextWindow: Int64? = nil) {
        self.provider = provider
        self.id = id
        self.input = input
        self.output = output
        self.cachedInput = cachedInput ?? input
        self.maxOutputTokens = maxOutputTokens
        self.contextWindow = contextWindow
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(String.self, forKey: .provider)
        id = try c.decode(String.self, forKey: .id)
        input = try c.decode(MicroUSD.self, forKey: .input)
        output = try c.decode(MicroUSD.self, forKey: .output)
        cachedInput = try c.decodeIfPresent(MicroUSD.self, forKey: .cachedInput) ?? input
        maxOutputTokens = try c.decodeIfPresent(Int64.self, forKey: .maxOutputTokens)
        contextWindow = try c.decodeIfPresent(Int64.self, forKey: .contextWindow)
    }

    public var isZeroPriced: Bool { input.value == 0 && output.value == 0 && cachedInput.value == 0 }
}
