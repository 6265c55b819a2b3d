/// Token counts of one request, in the OpenAI convention: `cachedInputTokens` (cache reads) and
/// `cacheWriteTokens` are parts of `inputTokens`, `reasoningTokens` is part of `outputTokens`.
public struct TokenUsage: Sendable, Hashable {
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cachedInputTokens: Int64
    public var reasoningTokens: Int64
    /// Prompt tokens written to the provider's cache (Anthropic, Bedrock), priced at the cache-write rate.
    public var cacheWriteTokens: Int64
    /// True when the provider did not report the counts and Keygate estimated them.
    public var estimated: Bool

    public init(
        inputTokens: Int64 = 0, outputTokens: Int64 = 0, cachedInputTokens: Int64 = 0, reasoningTokens: Int64 = 0,
        cacheWriteTokens: Int64 = 0, estimated: Bool = false
    ) {
        self.cacheWriteTokens = cacheWriteTokens
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.reasoningTokens = reasoningTokens
        self.estimated = estimated
    }

    public static let zero = TokenUsage()

    /// At-cost price of these tokens at the model's list prices: uncached input, cache reads, cache writes and
    /// output are each priced at their own rate (reasoning tokens are already inside output, and priced at the
    /// model's reasoning rate when it has one).
    public func cost(at model: ModelSpec) -> PicoUSD {
        let input = max(inputTokens, 0)
        let cached = min(max(cachedInputTokens, 0), input)
        let written = min(max(cacheWriteTokens, 0), input - cached)
        let uncached = input - cached - written
        let output = max(outputTokens, 0)
        let reasoning = model.reasoning == nil ? 0 : min(max(reasoningTokens, 0), output)
        return PicoUSD.cost(tokens: uncached, pricePerMillion: model.input)
            + PicoUSD.cost(tokens: cached, pricePerMillion: model.cachedInput)
            + PicoUSD.cost(tokens: written, pricePerMillion: model.cacheWrite)
            + PicoUSD.cost(tokens: output - reasoning, pricePerMillion: model.output)
            + PicoUSD.cost(tokens: reasoning, pricePerMillion: model.reasoning ?? model.output)
    }
}

/// Conservative token estimates for when a provider reports nothing (a stream cut before its usage chunk).
/// Rounds up: roughly 4 bytes of UTF-8 per token for English text, never fewer than one token.
public enum TokenEstimator {
    public static func tokens(forBytes count: Int) -> Int64 {
        count <= 0 ? 0 : Int64((count + 3) / 4)
    }
}
