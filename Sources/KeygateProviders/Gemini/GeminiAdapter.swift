import Foundation
import KeygateCore

/// Google Gemini (`{base}/v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
/// `x-goog-api-key`), translated to and from OpenAI chat completions (../shared/reference/providers.md §3).
public struct GeminiAdapter: WireAdapter {
    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let base = URLText.trimmingTrailingSlashes(resolved.provider.baseURL)
        let model = URLText.percentEncoded(resolved.model.id)
        let url = base + "/v1beta/models/" + model + (request.stream ? ":streamGenerateContent?alt=sse" : ":generateContent")
        return UpstreamRequest(
            method: "POST", url: url,
            headers: [("x-goog-api-key", credential), ("content-type", "application/json")],
            body: JSONValue.object(try Self.translate(request)).encoded())
    }

    static func translate(_ request: ChatCompletionRequest) throws(GatewayError) -> JSONObject {
        let source = request.body
        var system: [JSONValue] = []
        var turns = AlternatingTurns(partsKey: "parts")
        var toolNames: [String: String] = [:]  // tool_call_id → function name (functionResponse needs the name)
        for (index, message) in (source["messages"]?.arrayValue ?? []).enumerated() {
            switch message["role"]?.stringValue {
            case "system", "developer":
                system.append(.object(["text": .string(plainText(of: message["content"]))]))
            case "user":
                turns.append(role: "user", parts: try parts(message["content"], param: "messages[\(index)].content"))
            case "assistant":
                var parts = try parts(message["content"], param: "messages[\(index)].content")
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    let name = call["function"]?["name"]?.stringValue ?? ""
                    if let id = call["id"]?.stringValue { toolNames[id] = name }
                    parts.append(
                        .object([
                            "functionCall": .object(["name": .string(name), "args": argumentsObject(call["function"]?["arguments"]?.stringValue)])
                        ]))
                }
                turns.append(role: "model", parts: parts)
            case "tool", "function":
                let id = message["tool_call_id"]?.stringValue ?? ""
                let name = toolNames[id] ?? message["name"]?.stringValue ?? id
                let text = plainText(of: message["content"])
                let response =
                    (try? JSONValue.decode(Array(text.utf8))).flatMap { $0.objectValue.map(JSONValue.object) } ?? .object(["result": .string(text)])
                turns.append(role: "user", parts: [.object(["functionResponse": .object(["name": .string(name), "response": response])])])
            default:
                break
            }
        }
        var body: JSONObject = ["contents": turns.json]
        if !system.isEmpty { body["systemInstruction"] = .object(["parts": .array(system)]) }
        if let tools = source["tools"]?.arrayValue, !tools.isEmpty {
            let declarations: [JSONValue] = tools.compactMap { tool in
                guard let function = tool["function"] else { return nil }
                var declaration: JSONObject = ["name": function["name"] ?? .string("")]
                if let description = function["description"] { declaration["description"] = description }
                if let parameters = function["parameters"] { declaration["parametersJsonSchema"] = parameters }
                return .object(declaration)
            }
            body["tools"] = .array([.object(["functionDeclarations": .array(declarations)])])
        }
        if let choice = ToolChoice(source["tool_choice"]) {
            let config: JSONObject
            switch choice {
            case .auto: config = ["mode": .string("AUTO")]
            case .required: config = ["mode": .string("ANY")]
            case .noTools: config = ["mode": .string("NONE")]
            case .function(let name): config = ["mode": .string("ANY"), "allowedFunctionNames": .array([name])]
            }
            body["toolConfig"] = .object(["functionCallingConfig": .object(config)])
        }
        var generation: JSONObject = [:]
        if let max = request.maxOutputTokens { generation["maxOutputTokens"] = .int(max) }
        for (from, to) in [
            ("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"), ("n", "candidateCount"),
            ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"),
        ] {
            if let value = source[from], !value.isNull { generation[to] = value }
        }
        if let stop = stopSequences(source["stop"]) { generation["stopSequences"] = stop }
        if source["response_format"]?["type"]?.stringValue == "json_schema" {
            generation["responseMimeType"] = .string("application/json")
            if let schema = source["response_format"]?["json_schema"]?["schema"] { generation["responseJsonSchema"] = schema }
        } else if source["response_format"]?["type"]?.stringValue == "json_object" {
            generation["responseMimeType"] = .string("application/json")
        }
        if !generation.isEmpty { body["generationConfig"] = .object(generation) }
        return body
    }

    static func parts(_ content: JSONValue?, param: String) throws(GatewayError) -> [JSONValue] {
        try contentParts(
            content, param: param, refusal: "Gemini models take text and image parts here",
            text: { .object(["text": $0]) },
            image: { part in
                let url = part["image_url"]?["url"]?.stringValue ?? ""
                if let image = DataURL.parse(url) {
                    return .object(["inlineData": .object(["mimeType": .string(image.mediaType), "data": .string(image.base64)])])
                }
                return .object(["fileData": .object(["mimeType": .string("image/*"), "fileUri": .string(url)])])
            })
    }

    // MARK: Answers

    static func usage(_ metadata: JSONValue?) -> TokenUsage? {
        guard let metadata, case .object = metadata else { return nil }
        let thoughts = metadata["thoughtsTokenCount"]?.int64Value ?? 0
        return TokenUsage(
            inputTokens: (metadata["promptTokenCount"]?.int64Value ?? 0) + (metadata["toolUsePromptTokenCount"]?.int64Value ?? 0),
            outputTokens: (metadata["candidatesTokenCount"]?.int64Value ?? 0) + thoughts,
            cachedInputTokens: metadata["cachedContentTokenCount"]?.int64Value ?? 0, reasoningTokens: thoughts)
    }

    static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String? {
        switch reason {
        case nil: return nil
        case "STOP": return hasToolCalls ? "tool_calls" : "stop"
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE", "LANGUAGE", "OTHER":
            return "content_filter"
        default: return "stop"
        }
    }

    /// Text, reasoning and tool calls of one (partial) candidate.
    static func contents(of candidate: JSONValue?) -> (text: String, reasoning: String, calls: [(name: JSONValue, args: String, id: JSONValue?)]) {
        var text = "", reasoning = ""
        var calls: [(JSONValue, String, JSONValue?)] = []
        for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
            if let call = part["functionCall"] {
                calls.append((call["name"] ?? .string(""), String(decoding: (call["args"] ?? .object([:])).encoded(), as: UTF8.self), call["id"]))
            } else if let piece = part["text"]?.stringValue {
                if part["thought"]?.boolValue == true { reasoning += piece } else { text += piece }
            }
        }
        return (text, reasoning, calls)
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        guard let json = try? JSONValue.decode(body) else { return (body, nil) }
        let candidate = json["candidates"]?.arrayValue?.first
        let (text, reasoning, calls) = Self.contents(of: candidate)
        let toolCalls: [JSONValue] = calls.enumerated().map { index, call in
            openAIToolCall(id: call.id ?? .string("call_\(index)"), name: call.name, arguments: .string(call.args))
        }
        let blocked = candidate == nil && json["promptFeedback"]?["blockReason"] != nil
        let finish = blocked ? "content_filter" : Self.finishReason(candidate?["finishReason"]?.stringValue, hasToolCalls: !calls.isEmpty) ?? "stop"
        let usage = Self.usage(json["usageMetadata"])
        return (
            chatCompletion(
                id: "chatcmpl-" + (json["responseId"]?.stringValue ?? "gemini"), model: json["modelVersion"] ?? .string(model),
                text: text, reasoning: reasoning, toolCalls: toolCalls, finishReason: finish, usage: usage),
            usage
        )
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        GeminiStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    /// Gemini answers a bad key with 400 `API_KEY_INVALID`, not 401.
    public func isCredentialRejection(_ failure: UpstreamFailure) -> Bool {
        failure.status == 401 || failure.status == 403
            || (failure.status == 400 && String(decoding: failure.body, as: UTF8.self).contains("API_KEY_INVALID"))
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        if isCredentialRejection(failure) { return .platformKeyRejected(provider: provider.id) }
        let detail = (try? JSONValue.decode(failure.body))?["error"]
        switch failure.status {
        case 429: return .upstreamRateLimited(provider: provider.id, retryAfter: failure.retryAfter)
        case 400, 404, 413, 422:
            let message = detail?["message"]?.stringValue.map { SecretScrubber.scrub($0, secrets: [credential]) }
            return .upstreamRejectedRequest(
                provider: provider.id, status: failure.status, message: message, param: nil, code: detail?["status"]?.stringValue)
        default:
            return .upstreamFailed(provider: provider.id, status: failure.status)
        }
    }
}

/// Gemini's SSE stream: every event is a whole partial `GenerateContentResponse`; the stream ends at EOF with
/// no sentinel. Each event becomes one OpenAI chunk; the clean end adds the usage chunk (if asked) and `[DONE]`.
struct GeminiStreamRelay: StreamRelay {
    let clientWantsUsage: Bool
    private(set) var usage: TokenUsage?
    private(set) var generatedTextBytes = 0
    private var framer = SSEFramer()
    private var sawFinish = false
    private var endedCleanly = false
    private var startedRole = false
    private var toolCalls = 0
    private var writer = ChunkWriter(id: "chatcmpl-gemini")

    init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    var completed: Bool { endedCleanly && sawFinish }

    mutating func relay(_ chunk: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        for event in framer.append(chunk) { out += translate(event) }
        return out
    }

    mutating func finish() -> [UInt8] {
        endedCleanly = true
        let rest = framer.finish()
        let out = rest.isEmpty ? [] : translate(rest[...])
        guard sawFinish else { return out }
        return out + writer.end(usage: usage, clientWantsUsage: clientWantsUsage)
    }

    private mutating func translate(_ event: ArraySlice<UInt8>) -> [UInt8] {
        guard let payload = SSE.dataPayload(of: event), let json = try? JSONValue.decode(payload) else { return [] }
        if let error = json["error"] {
            return ChunkWriter.failedMidStream(
                provider: "google", reason: error["message"]?.stringValue ?? "unknown error",
                code: error["status"] ?? .string("upstream_error"))
        }
        if let responseID = json["responseId"]?.stringValue { writer.id = "chatcmpl-" + responseID }
        writer.model = json["modelVersion"]?.stringValue ?? writer.model
        if let reported = GeminiAdapter.usage(json["usageMetadata"]) { usage = reported }
        let candidate = json["candidates"]?.arrayValue?.first
        let (text, reasoning, calls) = GeminiAdapter.contents(of: candidate)
        var delta: JSONObject = [:]
        if !startedRole { delta["role"] = .string("assistant"); startedRole = true }
        if !text.isEmpty { delta["content"] = .string(text); generatedTextBytes += text.utf8.count }
        if !reasoning.isEmpty { delta["reasoning_content"] = .string(reasoning); generatedTextBytes += reasoning.utf8.count }
        if !calls.isEmpty {
            delta["tool_calls"] = .array(
                calls.map { call in
                    defer { toolCalls += 1 }
                    generatedTextBytes += call.args.utf8.count
                    return .object([
                        "index": .int(Int64(toolCalls)), "id": call.id ?? .string("call_\(toolCalls)"), "type": .string("function"),
                        "function": .object(["name": call.name, "arguments": .string(call.args)]),
                    ])
                })
        }
        let finish = GeminiAdapter.finishReason(candidate?["finishReason"]?.stringValue, hasToolCalls: toolCalls > 0)
        if finish != nil { sawFinish = true }
        if delta.isEmpty && finish == nil { return [] }
        return writer.chunk(delta: delta, finishReason: finish)
    }
}
