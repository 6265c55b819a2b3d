import Foundation
import KeygateCore

/// OpenAI Responses (`POST {base}/responses`), for models that need it, translated to and from chat
/// completions (../shared/reference/providers.md §1.2). Nothing is stored upstream (`store: false`).
public struct OpenAIResponsesAdapter: WireAdapter {
    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let base = URLText.trimmingTrailingSlashes(resolved.provider.baseURL)
        return UpstreamRequest(
            method: "POST", url: base + "/responses",
            headers: [
                ("authorization", "Bearer " + credential), ("content-type", "application/json"),
                ("accept", request.stream ? "text/event-stream" : "application/json"),
            ],
            body: JSONValue.object(try Self.translate(request, model: resolved.model)).encoded())
    }

    static func translate(_ request: ChatCompletionRequest, model: ModelSpec) throws(GatewayError) -> JSONObject {
        let source = request.body
        var instructions: [String] = []
        var input: [JSONValue] = []
        for (index, message) in (source["messages"]?.arrayValue ?? []).enumerated() {
            let role = message["role"]?.stringValue ?? ""
            switch role {
            case "system", "developer":
                instructions.append(plainText(of: message["content"]))
            case "user":
                var parts: [JSONValue] = []
                switch message["content"] {
                case .string(let s)?: parts.append(.object(["type": .string("input_text"), "text": .string(s)]))
                case .array(let items)?:
                    for item in items {
                        switch item["type"]?.stringValue {
                        case "text": parts.append(.object(["type": .string("input_text"), "text": item["text"] ?? .string("")]))
                        case "image_url":
                            var image: JSONObject = ["type": .string("input_image"), "image_url": item["image_url"]?["url"] ?? .string("")]
                            if let detail = item["image_url"]?["detail"] { image["detail"] = detail }
                            parts.append(.object(image))
                        default:
                            throw GatewayError.unsupportedContent(
                                "'\(item["type"]?.stringValue ?? "?")' parts in messages[\(index)].content are not supported for this model.",
                                param: "messages[\(index)].content")
                        }
                    }
                default: break
                }
                input.append(.object(["role": .string("user"), "content": .array(parts)]))
            case "assistant":
                let text = plainText(of: message["content"])
                if !text.isEmpty {
                    input.append(
                        .object([
                            "role": .string("assistant"), "content": .array([.object(["type": .string("output_text"), "text": .string(text)])]),
                        ]))
                }
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    input.append(
                        .object([
                            "type": .string("function_call"), "call_id": call["id"] ?? .string("call_\(index)"),
                            "name": call["function"]?["name"] ?? .string(""), "arguments": call["function"]?["arguments"] ?? .string("{}"),
                        ]))
                }
            case "tool", "function":
                input.append(
                    .object([
                        "type": .string("function_call_output"), "call_id": message["tool_call_id"] ?? .string(""),
                        "output": .string(plainText(of: message["content"])),
                    ]))
            default: break
            }
        }
        var body: JSONObject = ["model": .string(model.id), "input": .array(input), "store": .bool(false)]
        if !instructions.isEmpty { body["instructions"] = .string(instructions.joined(separator: "\n\n")) }
        if let max = request.maxOutputTokens { body["max_output_tokens"] = .int(max) }
        for name in ["temperature", "top_p", "parallel_tool_calls", "user", "metadata"] {
            if let value = source[name], !value.isNull { body[name] = value }
        }
        if let effort = source["reasoning_effort"] { body["reasoning"] = .object(["effort": effort]) }
        if let tools = source["tools"]?.arrayValue, !tools.isEmpty {
            body["tools"] = .array(
                tools.compactMap { tool in
                    guard let function = tool["function"] else { return nil }
                    var flat: JSONObject = ["type": .string("function"), "name": function["name"] ?? .string("")]
                    if let description = function["description"] { flat["description"] = description }
                    if let parameters = function["parameters"] { flat["parameters"] = parameters }
                    if let strict = function["strict"] { flat["strict"] = strict }
                    return .object(flat)
                })
        }
        if let choice = source["tool_choice"] {
            if choice.stringValue != nil {
                body["tool_choice"] = choice
            } else if let name = choice["function"]?["name"] {
                body["tool_choice"] = .object(["type": .string("function"), "name": name])
            }
        }
        if request.stream { body["stream"] = .bool(true) }
        return body
    }

    static func usage(_ usage: JSONValue?) -> TokenUsage? {
        guard let usage, case .object = usage else { return nil }
        return TokenUsage(
            inputTokens: usage["input_tokens"]?.int64Value ?? 0, outputTokens: usage["output_tokens"]?.int64Value ?? 0,
            cachedInputTokens: usage["input_tokens_details"]?["cached_tokens"]?.int64Value ?? 0,
            reasoningTokens: usage["output_tokens_details"]?["reasoning_tokens"]?.int64Value ?? 0)
    }

    static func finishReason(status: String?, hasToolCalls: Bool) -> String {
        if status == "incomplete" { return "length" }
        return hasToolCalls ? "tool_calls" : "stop"
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        guard let json = try? JSONValue.decode(body) else { return (body, nil) }
        var text = ""
        var calls: [JSONValue] = []
        for item in json["output"]?.arrayValue ?? [] {
            switch item["type"]?.stringValue {
            case "message":
                for part in item["content"]?.arrayValue ?? [] where part["type"]?.stringValue == "output_text" {
                    text += part["text"]?.stringValue ?? ""
                }
            case "function_call":
                calls.append(openAIToolCall(id: item["call_id"] ?? .null, name: item["name"] ?? .null, arguments: item["arguments"] ?? .string("{}")))
            default: break
            }
        }
        let usage = Self.usage(json["usage"])
        return (
            chatCompletion(
                id: "chatcmpl-" + (json["id"]?.stringValue ?? "responses"),
                created: json["created_at"] ?? .int(Int64(Date().timeIntervalSince1970)), model: json["model"] ?? .string(model),
                text: text, toolCalls: calls,
                finishReason: Self.finishReason(status: json["status"]?.stringValue, hasToolCalls: !calls.isEmpty), usage: usage),
            usage
        )
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        ResponsesStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        OpenAIChatAdapter().error(for: failure, provider: provider, credential: credential)
    }
}

/// Responses API events as chat-completion chunks: text deltas, function-call starts and argument deltas, and
/// the terminal `response.completed` (usage) / `response.incomplete` / `response.failed` / `error`.
struct ResponsesStreamRelay: StreamRelay {
    let clientWantsUsage: Bool
    private(set) var usage: TokenUsage?
    private(set) var completed = false
    private(set) var generatedTextBytes = 0
    private var framer = SSEFramer()
    private var writer = ChunkWriter(id: "chatcmpl-responses")
    private var startedRole = false

    init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    mutating func relay(_ chunk: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        for event in framer.append(chunk) { out += translate(event) }
        return out
    }

    mutating func finish() -> [UInt8] {
        let rest = framer.finish()
        return rest.isEmpty ? [] : translate(rest[...])
    }

    private mutating func translate(_ event: ArraySlice<UInt8>) -> [UInt8] {
        guard let payload = SSE.dataPayload(of: event), let json = try? JSONValue.decode(payload) else { return [] }
        var out: [UInt8] = []
        if !startedRole {
            startedRole = true
            if let response = json["response"] {
                writer.id = "chatcmpl-" + (response["id"]?.stringValue ?? "responses")
                writer.model = response["model"]?.stringValue ?? writer.model
            }
            out += writer.chunk(delta: ["role": .string("assistant"), "content": .string("")])
        }
        switch json["type"]?.stringValue ?? SSE.eventName(of: event) ?? "" {
        case "response.output_text.delta":
            let text = json["delta"]?.stringValue ?? ""
            generatedTextBytes += text.utf8.count
            out += writer.chunk(delta: ["content": .string(text)])
        case "response.output_item.added":
            guard let item = json["item"], item["type"]?.stringValue == "function_call", let index = json["output_index"]?.int64Value else { break }
            out += writer.toolCallStart(providerIndex: index, id: item["call_id"] ?? .null, name: item["name"] ?? .null)
        case "response.function_call_arguments.delta":
            let delta = json["delta"]?.stringValue ?? ""
            generatedTextBytes += delta.utf8.count
            out += writer.toolCallArguments(providerIndex: json["output_index"]?.int64Value, delta)
        case "response.completed", "response.incomplete":
            completed = true
            let response = json["response"]
            usage = OpenAIResponsesAdapter.usage(response?["usage"])
            out += writer.chunk(
                delta: [:],
                finishReason: OpenAIResponsesAdapter.finishReason(status: response?["status"]?.stringValue, hasToolCalls: writer.hasToolCalls))
            out += writer.end(usage: usage, clientWantsUsage: clientWantsUsage)
        case "response.failed", "error":
            let error = json["response"]?["error"] ?? json["error"] ?? json
            out += ChunkWriter.failedMidStream(
                provider: nil, reason: error["message"]?.stringValue ?? "unknown error",
                code: error["code"] ?? .string("upstream_error"))
        default:
            break
        }
        return out
    }
}
