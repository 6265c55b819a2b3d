import Foundation
import KeygateCore

/// The other direction, for `/v1/messages` clients calling a non-Anthropic model: an Anthropic Messages
/// request becomes the canonical OpenAI chat request, and the OpenAI answer (or stream) becomes an Anthropic
/// message (or event stream).
public enum AnthropicInbound {
    /// Anthropic Messages body → OpenAI chat completions body.
    public static func chatBody(from messages: JSONValue) -> JSONValue {
        var out: JSONObject = ["model": messages["model"] ?? .string("")]
        var chat: [JSONValue] = []
        switch messages["system"] {
        case .string(let s)?: chat.append(.object(["role": .string("system"), "content": .string(s)]))
        case .array(let blocks)?:
            chat.append(
                .object(["role": .string("system"), "content": .string(blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n"))]))
        default: break
        }
        for message in messages["messages"]?.arrayValue ?? [] {
            let role = message["role"]?.stringValue ?? "user"
            guard case .array(let blocks)? = message["content"] else {
                chat.append(.object(["role": .string(role), "content": message["content"] ?? .string("")]))
                continue
            }
            var parts: [JSONValue] = []
            var toolCalls: [JSONValue] = []
            for block in blocks {
                switch block["type"]?.stringValue {
                case "text": parts.append(.object(["type": .string("text"), "text": block["text"] ?? .string("")]))
                case "image":
                    let source = block["source"]
                    let url =
                        source?["type"]?.stringValue == "base64"
                        ? "data:\(source?["media_type"]?.stringValue ?? "image/png");base64,\(source?["data"]?.stringValue ?? "")"
                        : source?["url"]?.stringValue ?? ""
                    parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(url)])]))
                case "tool_use":
                    toolCalls.append(
                        openAIToolCall(id: block["id"] ?? .null, name: block["name"] ?? .null, arguments: argumentsText(block["input"])))
                case "tool_result":
                    let content: String
                    switch block["content"] {
                    case .string(let s)?: content = s
                    case .array(let items)?: content = items.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
                    default: content = ""
                    }
                    chat.append(.object(["role": .string("tool"), "tool_call_id": block["tool_use_id"] ?? .null, "content": .string(content)]))
                default: break
                }
            }
            if !parts.isEmpty || !toolCalls.isEmpty {
                var entry: JSONObject = ["role": .string(role), "content": parts.isEmpty ? .null : .array(parts)]
                if !toolCalls.isEmpty { entry["tool_calls"] = .array(toolCalls) }
                chat.append(.object(entry))
            }
        }
        out["messages"] = .array(chat)
        if let max = messages["max_tokens"] { out["max_tokens"] = max }
        for name in ["temperature", "top_p"] { if let v = messages[name] { out[name] = v } }
        if let stops = messages["stop_sequences"] { out["stop"] = stops }
        if let user = messages["metadata"]?["user_id"] { out["user"] = user }
        if let tools = messages["tools"]?.arrayValue {
            out["tools"] = .array(
                tools.map { tool in
                    .object([
                        "type": .string("function"),
                        "function": .object([
                            "name": tool["name"] ?? .null, "description": tool["description"] ?? .string(""),
                            "parameters": tool["input_schema"] ?? .object(["type": .string("object")]),
                        ]),
                    ])
                })
        }
        switch messages["tool_choice"]?["type"]?.stringValue {
        case "auto": out["tool_choice"] = .string("auto")
        case "any": out["tool_choice"] = .string("required")
        case "none": out["tool_choice"] = .string("none")
        case "tool":
            out["tool_choice"] = .object(["type": .string("function"), "function": .object(["name": messages["tool_choice"]?["name"] ?? .null])])
        default: break
        }
        if messages["stream"]?.boolValue == true {
            out["stream"] = .bool(true)
            out["stream_options"] = .object(["include_usage": .bool(true)])
        }
        return .object(out)
    }

    static func stopReason(_ finish: String?) -> String {
        switch finish {
        case "length": return "max_tokens"
        case "tool_calls", "function_call": return "tool_use"
        case "content_filter": return "refusal"
        default: return "end_turn"
        }
    }

    /// OpenAI `chat.completion` → Anthropic message.
    public static func message(fromChatCompletion body: [UInt8], model: String) -> [UInt8] {
        guard let json = try? JSONValue.decode(body) else { return body }
        let choice = json["choices"]?.arrayValue?.first
        var content: [JSONValue] = []
        if let text = choice?["message"]?["content"]?.stringValue, !text.isEmpty {
            content.append(.object(["type": .string("text"), "text": .string(text)]))
        }
        for call in choice?["message"]?["tool_calls"]?.arrayValue ?? [] {
            let arguments = call["function"]?["arguments"]?.stringValue ?? "{}"
            content.append(
                .object([
                    "type": .string("tool_use"), "id": call["id"] ?? .null, "name": call["function"]?["name"] ?? .null,
                    "input": (try? JSONValue.decode(Array(arguments.utf8))) ?? .object([:]),
                ]))
        }
        let usage = json["usage"]
        let cached = usage?["prompt_tokens_details"]?["cached_tokens"]?.int64Value ?? 0
        return JSONValue.object([
            "id": .string("msg_" + (json["id"]?.stringValue ?? "keygate")), "type": .string("message"), "role": .string("assistant"),
            "model": .string(model), "content": .array(content), "stop_reason": .string(stopReason(choice?["finish_reason"]?.stringValue)),
            "stop_sequence": .null,
            "usage": .object([
                "input_tokens": .int((usage?["prompt_tokens"]?.int64Value ?? 0) - cached), "cache_read_input_tokens": .int(cached),
                "output_tokens": .int(usage?["completion_tokens"]?.int64Value ?? 0),
            ]),
        ]).encoded()
    }
}

/// OpenAI chat-completion SSE → Anthropic Messages events (`message_start`, content blocks, `message_delta`,
/// `message_stop`), for `/v1/messages` clients of non-Anthropic models.
public struct AnthropicEventWriter: Sendable {
    private var framer = SSEFramer()
    private let model: String
    private var started = false
    private var openBlock: (index: Int, isText: Bool)?
    private var nextBlock = 0
    private var toolBlocks: [Int64: Int] = [:]
    private var stopReason = "end_turn"
    private var inputTokens: Int64 = 0
    private var cachedTokens: Int64 = 0
    private var outputTokens: Int64 = 0

    public init(model: String) { self.model = model }

    public mutating func translate(_ chunk: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for event in framer.append(chunk) {
            guard let payload = SSE.dataPayload(of: event) else { continue }
            if payload.elementsEqual("[DONE]".utf8) {
                out += closeBlock()
                out += Self.event(
                    "message_delta",
                    [
                        "type": .string("message_delta"), "delta": .object(["stop_reason": .string(stopReason), "stop_sequence": .null]),
                        "usage": .object([
                            "input_tokens": .int(inputTokens - cachedTokens), "cache_read_input_tokens": .int(cachedTokens),
                            "output_tokens": .int(outputTokens),
                        ]),
                    ])
                out += Self.event("message_stop", ["type": .string("message_stop")])
                continue
            }
            guard let json = try? JSONValue.decode(payload) else { continue }
            if let error = json["error"] {
                out += Self.event(
                    "error",
                    [
                        "type": .string("error"),
                        "error": .object(["type": .string("api_error"), "message": error["message"] ?? .string("upstream error")]),
                    ])
                continue
            }
            if !started {
                started = true
                out += Self.event(
                    "message_start",
                    [
                        "type": .string("message_start"),
                        "message": .object([
                            "id": .string("msg_" + (json["id"]?.stringValue ?? "keygate")), "type": .string("message"), "role": .string("assistant"),
                            "model": .string(model), "content": .array([]), "stop_reason": .null, "stop_sequence": .null,
                            "usage": .object(["input_tokens": .int(0), "output_tokens": .int(0)]),
                        ]),
                    ])
            }
            if let usage = json["usage"], case .object = usage {
                inputTokens = usage["prompt_tokens"]?.int64Value ?? inputTokens
                cachedTokens = usage["prompt_tokens_details"]?["cached_tokens"]?.int64Value ?? cachedTokens
                outputTokens = usage["completion_tokens"]?.int64Value ?? outputTokens
            }
            guard let choice = json["choices"]?.arrayValue?.first else { continue }
            let delta = choice["delta"]
            if let text = delta?["content"]?.stringValue, !text.isEmpty {
                if openBlock?.isText != true {
                    out += closeBlock()
                    out += openText()
                }
                out += Self.event(
                    "content_block_delta",
                    [
                        "type": .string("content_block_delta"), "index": .int(Int64(openBlock!.index)),
                        "delta": .object(["type": .string("text_delta"), "text": .string(text)]),
                    ])
            }
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                let callIndex = call["index"]?.int64Value ?? 0
                if toolBlocks[callIndex] == nil {
                    out += closeBlock()
                    let index = nextBlock
                    nextBlock += 1
                    toolBlocks[callIndex] = index
                    openBlock = (index, false)
                    out += Self.event(
                        "content_block_start",
                        [
                            "type": .string("content_block_start"), "index": .int(Int64(index)),
                            "content_block": .object([
                                "type": .string("tool_use"), "id": call["id"] ?? .null,
                                "name": call["function"]?["name"] ?? .null, "input": .object([:]),
                            ]),
                        ])
                }
                if let arguments = call["function"]?["arguments"]?.stringValue, !arguments.isEmpty, let index = toolBlocks[callIndex] {
                    out += Self.event(
                        "content_block_delta",
                        [
                            "type": .string("content_block_delta"), "index": .int(Int64(index)),
                            "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(arguments)]),
                        ])
                }
            }
            if let finish = choice["finish_reason"]?.stringValue { stopReason = AnthropicInbound.stopReason(finish) }
        }
        return out
    }

    private mutating func openText() -> [UInt8] {
        let index = nextBlock
        nextBlock += 1
        openBlock = (index, true)
        return Self.event(
            "content_block_start",
            [
                "type": .string("content_block_start"), "index": .int(Int64(index)),
                "content_block": .object(["type": .string("text"), "text": .string("")]),
            ])
    }

    private mutating func closeBlock() -> [UInt8] {
        guard let block = openBlock else { return [] }
        openBlock = nil
        return Self.event("content_block_stop", ["type": .string("content_block_stop"), "index": .int(Int64(block.index))])
    }

    static func event(_ name: String, _ object: JSONObject) -> [UInt8] {
        Array("event: \(name)\ndata: ".utf8) + JSONValue.object(object).encoded() + Array("\n\n".utf8)
    }
}
