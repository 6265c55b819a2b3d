import KeygateCore

extension WireAdapter {
    public func isCredentialRejection(_ failure: UpstreamFailure) -> Bool { failure.status == 401 || failure.status == 403 }
}

/// One wire format: how to turn the canonical (OpenAI chat) request into the provider's request, and the
/// provider's answers (body, stream, usage, errors) back into the canonical form.
/// Adapters are pure: they never perform I/O and never see the database.
public protocol WireAdapter: Sendable {
    func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    /// A complete non-streaming answer translated to the OpenAI `chat.completion` format (`translated` nil:
    /// already in it, send as received), and the usage the provider reported (nil if none).
    func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?)
    /// A fresh relay for one streamed response.
    func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay
    /// True when the provider refused the credential itself (usually 401/403), so a BYOK key gets marked invalid.
    func isCredentialRejection(_ failure: UpstreamFailure) -> Bool
    /// The error the caller sees for a non-2xx provider answer. `credential` is scrubbed from any text kept.
    func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError
}

/// Translates a provider's stream into the client's SSE stream, one upstream chunk at a time, and
/// remembers the usage it saw.
public protocol StreamRelay: Sendable {
    /// Bytes to send to the client for this upstream chunk; `nil` means "send the chunk unchanged".
    /// Incomplete events are held back until the rest of them arrives.
    mutating func relay(_ chunk: [UInt8]) -> [UInt8]?
    /// Called once when the upstream body ended cleanly; returns any bytes still to send.
    mutating func finish() -> [UInt8]
    /// Usage the provider reported in the stream, if any.
    var usage: TokenUsage? { get }
    /// The provider ended the stream properly (`[DONE]`, its own end event, or a clean end after the last choice finished).
    var completed: Bool { get }
    /// UTF-8 bytes of generated text seen so far, for an estimate when no usage arrives.
    var generatedTextBytes: Int { get }
}

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
