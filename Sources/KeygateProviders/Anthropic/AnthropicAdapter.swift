import Foundation
import KeygateCore

/// Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`, `anthropic-version`), translated to and from
/// OpenAI chat completions (../shared/reference/providers.md §2).
public struct AnthropicAdapter: WireAdapter {
    public static let apiVersion = "2023-06-01"
    /// `max_tokens` is required upstream; used when neither the request nor the catalog gives one.
    static let fallbackMaxTokens: Int64 = 4096

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let body = try Self.translate(request, model: resolved.model)
        let base = URLText.trimmingTrailingSlashes(resolved.provider.baseURL)
        return UpstreamRequest(
            method: "POST", url: base + "/v1/messages",
            headers: [
                ("x-api-key", credential), ("anthropic-version", Self.apiVersion), ("content-type", "application/json"),
                ("accept", request.stream ? "text/event-stream" : "application/json"),
            ],
            body: JSONValue.object(body).encoded())
    }

    /// OpenAI chat request → Anthropic Messages request.
    static func translate(_ request: ChatCompletionRequest, model: ModelSpec) throws(GatewayError) -> JSONObject {
        let source = request.body
        var body: JSONObject = ["model": .string(model.id)]
        body["max_tokens"] = .int(request.maxOutputTokens ?? model.maxOutputTokens ?? fallbackMaxTokens)

        var system: [String] = []
        var turns = AlternatingTurns(partsKey: "content")
        for (index, message) in (source["messages"]?.arrayValue ?? []).enumerated() {
            let role = message["role"]?.stringValue ?? ""
            switch role {
            case "system", "developer":
                system.append(plainText(of: message["content"]))
            case "user":
                turns.append(role: "user", parts: try contentBlocks(message["content"], param: "messages[\(index)].content"))
            case "assistant":
                var blocks = try contentBlocks(message["content"], param: "messages[\(index)].content")
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    blocks.append(
                        .object([
                            "type": .string("tool_use"), "id": call["id"] ?? .string("call_\(index)"),
                            "name": call["function"]?["name"] ?? .string(""),
                            "input": argumentsObject(call["function"]?["arguments"]?.stringValue),
                        ]))
                }
                turns.append(role: "assistant", parts: blocks)
            case "tool", "function":
                var result: JSONObject = ["type": .string("tool_result"), "tool_use_id": message["tool_call_id"] ?? .string("")]
                result["content"] = .string(plainText(of: message["content"]))
                turns.append(role: "user", parts: [.object(result)])
            default:
                break
            }
        }
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        body["messages"] = turns.json

        if let tools = source["tools"]?.arrayValue, !tools.isEmpty {
            body["tools"] = .array(
                tools.compactMap { tool -> JSONValue? in
                    guard let function = tool["function"] else { return nil }
                    var out: JSONObject = ["name": function["name"] ?? .string("")]
                    if let description = function["description"] { out["description"] = description }
                    out["input_schema"] = function["parameters"] ?? .object(["type": .string("object"), "properties": .object([:])])
                    return .object(out)
                })
        }
        if let choice = ToolChoice(source["tool_choice"]) {
            var mapped: JSONObject
            switch choice {
            case .auto: mapped = ["type": .string("auto")]
            case .required: mapped = ["type": .string("any")]
            case .noTools: mapped = ["type": .string("none")]
            case .function(let name): mapped = ["type": .string("tool"), "name": name]
            }
            if source["parallel_tool_calls"]?.boolValue == false { mapped["disable_parallel_tool_use"] = .bool(true) }
            body["tool_choice"] = .object(mapped)
        }
        if let stop = stopSequences(source["stop"]) { body["stop_sequences"] = stop }
        for name in ["temperature", "top_p", "top_k"] {
            if let value = source[name], !value.isNull { body[name] = value }
        }
        if let user = source["user"]?.stringValue { body["metadata"] = .object(["user_id": .string(user)]) }
        if request.stream { body["stream"] = .bool(true) }
        return body
    }

    static func contentBlocks(_ content: JSONValue?, param: String) throws(GatewayError) -> [JSONValue] {
        try contentParts(
            content, param: param, refusal: "Anthropic models take text and image parts only",
            text: { .object(["type": .string("text"), "text": $0]) },
            image: { (part) throws(GatewayError) -> JSONValue in
                try image(part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue ?? "", param: param)
            })
    }

    static func image(_ url: String, param: String) throws(GatewayError) -> JSONValue {
        if url.hasPrefix("data:") {
            guard let image = DataURL.parse(url) else {
                throw GatewayError.invalidImage("An image data URL in \(param) must be base64 (data:image/png;base64,…).", param: param)
            }
            return .object([
                "type": .string("image"),
                "source": .object([
                    "type": .string("base64"), "media_type": .string(image.mediaType), "data": .string(image.base64),
                ]),
            ])
        }
        return .object(["type": .string("image"), "source": .object(["type": .string("url"), "url": .string(url)])])
    }

    // MARK: Answers

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        guard let message = try? JSONValue.decode(body) else { return (body, nil) }
        var text = ""
        var toolCalls: [JSONValue] = []
        for block in message["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                toolCalls.append(openAIToolCall(id: block["id"] ?? .null, name: block["name"] ?? .null, arguments: argumentsText(block["input"])))
            default: break
            }
        }
        let usage = message["usage"].flatMap(Self.usage)
        return (
            chatCompletion(
                id: "chatcmpl-" + (message["id"]?.stringValue ?? "anthropic"), model: message["model"] ?? .string(model),
                text: text, toolCalls: toolCalls, finishReason: Self.finishReason(message["stop_reason"]?.stringValue), usage: usage),
            usage
        )
    }

    /// Anthropic counts only uncached input in `input_tokens`; the OpenAI convention includes cache reads and writes.
    static func usage(_ usage: JSONValue) -> TokenUsage? {
        guard case .object = usage else { return nil }
        let uncached = usage["input_tokens"]?.int64Value ?? 0
        let read = usage["cache_read_input_tokens"]?.int64Value ?? 0
        let written = usage["cache_creation_input_tokens"]?.int64Value ?? 0
        return TokenUsage(
            inputTokens: uncached + read + written, outputTokens: usage["output_tokens"]?.int64Value ?? 0,
            cachedInputTokens: read, cacheWriteTokens: written)
    }

    static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "tool_use": return "tool_calls"
        case "refusal": return "content_filter"
        default: return "stop"
        }
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        AnthropicStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    /// A relay for Anthropic-native clients (`/v1/messages`): bytes pass unchanged, usage is read on the way.
    public func makePassthroughRelay() -> any StreamRelay {
        var relay = AnthropicStreamRelay(clientWantsUsage: false)
        relay.passthrough = true
        return relay
    }

    /// Usage from an Anthropic Messages answer body.
    public static func usage(fromMessage body: [UInt8]) -> TokenUsage? {
        (try? JSONValue.decode(body))?["usage"].flatMap(usage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let detail = (try? JSONValue.decode(failure.body))?["error"]
        let message = detail?["message"]?.stringValue.map { SecretScrubber.scrub($0, secrets: [credential]) }
        switch failure.status {
        case 401, 403: return .platformKeyRejected(provider: provider.id)
        case 429: return .upstreamRateLimited(provider: provider.id, retryAfter: failure.retryAfter)
        case 529:
            return .upstreamOverloaded(provider: provider.id, retryAfter: failure.retryAfter)
        case 400, 404, 413, 422:
            return .upstreamRejectedRequest(
                provider: provider.id, status: failure.status, message: message, param: nil,
                code: detail?["type"]?.stringValue)
        default:
            return .upstreamFailed(provider: provider.id, status: failure.status)
        }
    }
}
