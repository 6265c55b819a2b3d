import KeygateCore

/// The OpenAI `usage` object, read and written in one place so the two agree.
enum OpenAIUsage {
    /// `usage` as OpenAI-compatible providers report it (DeepSeek's cache fields included).
    static func tokenUsage(from usage: JSONValue) -> TokenUsage? {
        guard case .object = usage else { return nil }
        return TokenUsage(
            inputTokens: usage["prompt_tokens"]?.int64Value ?? 0,
            outputTokens: usage["completion_tokens"]?.int64Value ?? 0,
            cachedInputTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.int64Value
                ?? usage["prompt_cache_hit_tokens"]?.int64Value ?? 0,
            reasoningTokens: usage["completion_tokens_details"]?["reasoning_tokens"]?.int64Value ?? 0)
    }

    /// The `usage` a translated answer or stream carries: every count the usage has, each always written
    /// (`cache_write_tokens` is not OpenAI's; clients that do not know it ignore it).
    static func json(_ usage: TokenUsage) -> JSONValue {
        .object([
            "prompt_tokens": .int(usage.inputTokens), "completion_tokens": .int(usage.outputTokens),
            "total_tokens": .int(usage.inputTokens + usage.outputTokens),
            "prompt_tokens_details": .object(["cached_tokens": .int(usage.cachedInputTokens), "cache_write_tokens": .int(usage.cacheWriteTokens)]),
            "completion_tokens_details": .object(["reasoning_tokens": .int(usage.reasoningTokens)]),
        ])
    }
}
