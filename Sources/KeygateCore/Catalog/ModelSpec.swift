/// One model with its list prices. Prices are `MicroUSD` per million tokens.
public struct ModelSpec: Sendable, Hashable, Codable {
    public var provider: String
    /// The provider's own model id, sent upstream as `model`.
    public var id: String
    public var input: MicroUSD
    public var output: MicroUSD
    /// Price of prompt tokens served from the provider's cache; defaults to the input price.
    public var cachedInput: MicroUSD
    /// Price of prompt tokens written to the provider's cache; defaults to the input price.
    public var cacheWrite: MicroUSD
    /// Price of reasoning tokens where the provider prices them apart from other output; nil: the output price.
    public var reasoning: MicroUSD?
    /// The documented output limit; reservations use it when a request sets no `max_tokens`.
    public var maxOutputTokens: Int64?
    public var contextWindow: Int64?
    /// For a model that costs nothing here: the list price of its paid version, which the BYOK fee is a
    /// percentage of (SPEC §6). Nil for paid models (their own price is the list price).
    public var paidPrice: PaidPrice?
    /// Who wrote the entry: `litellm` for one `keygate catalog import` owns (updated or removed by the next
    /// import); nil for the operator's own, which an import never touches.
    public var source: String?
    /// A markup `keygate catalog import` applies to LiteLLM's prices for this model, in basis points (1000 =
    /// 10 %); the prices in the file already include it. Overrides the provider's.
    public var markupBasisPoints: Int64?

    public struct PaidPrice: Sendable, Hashable, Codable {
        public var input: MicroUSD
        public var output: MicroUSD
        public var cachedInput: MicroUSD?

        enum CodingKeys: String, CodingKey {
            case input, output
            case cachedInput = "cached_input"
        }
    }

    /// The prices a fee is computed on: the paid version's for a free model, else the model's own.
    public var listPriceModel: ModelSpec {
        guard isZeroPriced, let paid = paidPrice else { return self }
        return ModelSpec(
            provider: provider, id: id, input: paid.input, output: paid.output, cachedInput: paid.cachedInput,
            maxOutputTokens: maxOutputTokens, contextWindow: contextWindow)
    }

    enum CodingKeys: String, CodingKey {
        case provider, id, input, output
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case maxOutputTokens = "max_output_tokens"
        case contextWindow = "context_window"
        case paidPrice = "paid_price"
        case reasoning, source
        case markupBasisPoints = "markup_basis_points"
    }

    public init(
        provider: String, id: String, input: MicroUSD, output: MicroUSD, cachedInput: MicroUSD? = nil,
        maxOutputTokens: Int64? = nil, contextWindow: Int64? = nil, cacheWrite: MicroUSD? = nil, reasoning: MicroUSD? = nil
    ) {
        self.reasoning = reasoning
        self.cacheWrite = cacheWrite ?? input
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
        cacheWrite = try c.decodeIfPresent(MicroUSD.self, forKey: .cacheWrite) ?? input
        maxOutputTokens = try c.decodeIfPresent(Int64.self, forKey: .maxOutputTokens)
        contextWindow = try c.decodeIfPresent(Int64.self, forKey: .contextWindow)
        paidPrice = try c.decodeIfPresent(PaidPrice.self, forKey: .paidPrice)
        reasoning = try c.decodeIfPresent(MicroUSD.self, forKey: .reasoning)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        markupBasisPoints = try c.decodeIfPresent(Int64.self, forKey: .markupBasisPoints)
    }

    public var isZeroPriced: Bool {
        input.value == 0 && output.value == 0 && cachedInput.value == 0 && cacheWrite.value == 0 && (reasoning?.value ?? 0) == 0
    }

    /// The dearest rate an output token can cost: what a reservation prices its output allowance at.
    public var highestOutputPrice: MicroUSD { max(output, reasoning ?? output) }
}
