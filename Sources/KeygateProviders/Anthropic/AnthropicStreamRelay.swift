import KeygateCore

/// Anthropic's stream (`message_start`, content blocks, `message_delta`, `message_stop`) as OpenAI
/// `chat.completion.chunk` events, one translated event per upstream event as it arrives (providers.md §2.3).
struct AnthropicStreamRelay: StreamRelay {
    let clientWantsUsage: Bool
    /// For `/v1/messages`: the client speaks Anthropic too, so events pass unchanged; only usage and
    /// completion are tracked.
    var passthrough = false
    private(set) var usage: TokenUsage?
    private(set) var completed = false
    private(set) var generatedTextBytes = 0

    private var framer = SSEFramer()
    private var writer = ChunkWriter(id: "chatcmpl-anthropic")
    /// Input-side counts from `message_start`, completed by `message_delta`.
    private var started = TokenUsage()

    init(clientWantsUsage: Bool) {
        self.clientWantsUsage = clientWantsUsage
    }

    mutating func relay(_ chunk: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        for event in framer.append(chunk) { out += translate(event) }
        return passthrough ? nil : out
    }

    mutating func finish() -> [UInt8] {
        let rest = framer.finish()
        guard !rest.isEmpty else { return [] }
        let translated = translate(rest[...])
        return passthrough ? rest : translated
    }

    private mutating func translate(_ event: ArraySlice<UInt8>) -> [UInt8] {
        guard let payload = SSE.dataPayload(of: event), let json = try? JSONValue.decode(payload) else { return [] }
        let type = json["type"]?.stringValue ?? SSE.eventName(of: event) ?? ""
        switch type {
        case "message_start":
            let message = json["message"]
            if let messageID = message?["id"]?.stringValue { writer.id = "chatcmpl-" + messageID }
            writer.model = message?["model"]?.stringValue ?? writer.model
            started = message?["usage"].flatMap(AnthropicAdapter.usage) ?? TokenUsage()
            return writer.chunk(delta: ["role": .string("assistant"), "content": .string("")])
        case "content_block_start":
            guard let block = json["content_block"], block["type"]?.stringValue == "tool_use", let index = json["index"]?.int64Value else {
                return []
            }
            return writer.toolCallStart(providerIndex: index, id: block["id"] ?? .null, name: block["name"] ?? .null)
        case "content_block_delta":
            let delta = json["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                let text = delta?["text"]?.stringValue ?? ""
                generatedTextBytes += text.utf8.count
                return writer.chunk(delta: ["content": .string(text)])
            case "input_json_delta":
                let partial = delta?["partial_json"]?.stringValue ?? ""
                generatedTextBytes += partial.utf8.count
                return writer.toolCallArguments(providerIndex: json["index"]?.int64Value, partial)
            case "thinking_delta":
                let thinking = delta?["thinking"]?.stringValue ?? ""
                generatedTextBytes += thinking.utf8.count
                return writer.chunk(delta: ["reasoning_content": .string(thinking)])
            default:
                return []
            }
        case "message_delta":
            // Output tokens are cumulative here; input/cache counts, when present, override message_start's.
            let reported = json["usage"]
            var final = started
            if let reported, case .object = reported {
                if reported["input_tokens"] != nil || reported["cache_read_input_tokens"] != nil || reported["cache_creation_input_tokens"] != nil,
                    let input = AnthropicAdapter.usage(reported)
                {
                    final.inputTokens = input.inputTokens
                    final.cachedInputTokens = input.cachedInputTokens
                    final.cacheWriteTokens = input.cacheWriteTokens
                }
                final.outputTokens = reported["output_tokens"]?.int64Value ?? final.outputTokens
                usage = final
            }
            return writer.chunk(delta: [:], finishReason: AnthropicAdapter.finishReason(json["delta"]?["stop_reason"]?.stringValue))
        case "message_stop":
            completed = true
            return writer.end(usage: usage, clientWantsUsage: clientWantsUsage)
        case "error":
            let error = json["error"]
            return ChunkWriter.failedMidStream(
                provider: "anthropic", reason: error?["message"]?.stringValue ?? "unknown error",
                code: error?["type"] ?? .string("upstream_error"))
        default:
            return []  // ping, content_block_stop, unknown events
        }
    }
}
