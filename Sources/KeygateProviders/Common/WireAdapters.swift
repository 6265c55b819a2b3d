import KeygateCore

/// The adapter for each wire format.
public enum WireAdapters {
    public static func adapter(for format: WireFormat) -> any WireAdapter {
        switch format {
        case .openAIChat: return OpenAIChatAdapter()
        case .anthropicMessages: return AnthropicAdapter()
        case .azureOpenAI: return AzureOpenAIAdapter()
        case .gemini: return GeminiAdapter()
        case .bedrockConverse: return BedrockConverseAdapter()
        case .openAIResponses: return OpenAIResponsesAdapter()
        case .azureResponses: return AzureResponsesAdapter()
        }
    }
}
