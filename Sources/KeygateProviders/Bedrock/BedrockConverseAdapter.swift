import Foundation
import KeygateCore

/// AWS Bedrock Converse / ConverseStream, SigV4-signed with the credential JSON
/// `{"accessKeyId","secretAccessKey","region"[,"sessionToken"]}`, translated to and from OpenAI chat
/// completions (../shared/reference/providers.md §4). The region comes from the credential; the catalog's
/// base URL carries a `{region}` placeholder (an override replaces the whole endpoint).
public struct BedrockConverseAdapter: WireAdapter {
    public init() {}

    struct Credential {
        var accessKeyID: String
        var secretAccessKey: String
        var region: String
        var sessionToken: String?

        init(_ text: String) throws(GatewayError) {
            guard let fields = (try? JSONValue.decode(Array(text.utf8)))?.objectValue,
                let id = fields["accessKeyId"]?.stringValue, let secret = fields["secretAccessKey"]?.stringValue,
                let region = fields["region"]?.stringValue
            else {
                // The same parser reads the platform key and an organisation's key: the error names both.
                throw GatewayError.awsCredentialUnreadable
            }
            accessKeyID = id
            secretAccessKey = secret
            self.region = region
            sessionToken = fields["sessionToken"]?.stringValue
        }
    }

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let aws = try Credential(credential)
        let base = URLText.trimmingTrailingSlashes(resolved.provider.baseURL.replacingOccurrences(of: "{region}", with: aws.region))
        // The model id is one path label: percent-encoded once on the wire (`:` → `%3A`); SigV4 encodes it again.
        let url = base + "/model/" + URLText.percentEncoded(resolved.model.id) + (request.stream ? "/converse-stream" : "/converse")
        let body = JSONValue.object(try Self.translate(request)).encoded()
        guard let parsed = URL(string: url) else { throw GatewayError.upstreamFailed(provider: resolved.provider.id, status: nil) }
        let signer = SigV4Signer(
            accessKeyID: aws.accessKeyID, secretAccessKey: aws.secretAccessKey, sessionToken: aws.sessionToken, region: aws.region)
        var headers: [(name: String, value: String)] = [("content-type", "application/json")]
        headers += signer.sign(method: "POST", url: parsed, headers: headers, body: body)
        headers.append(("accept", request.stream ? "application/vnd.amazon.eventstream" : "application/json"))
        return UpstreamRequest(method: "POST", url: url, headers: headers, body: body)
    }

    static func translate(_ request: ChatCompletionRequest) throws(GatewayError) -> JSONObject {
        let source = request.body
        var system: [JSONValue] = []
        var turns = AlternatingTurns(partsKey: "content")
        var usedTools = false
        for (index, message) in (source["messages"]?.arrayValue ?? []).enumerated() {
            switch message["role"]?.stringValue {
            case "system", "developer":
                system.append(.object(["text": .string(plainText(of: message["content"]))]))
            case "user":
                turns.append(role: "user", parts: try blocks(message["content"], param: "messages[\(index)].content"))
            case "assistant":
                var content = try blocks(message["content"], param: "messages[\(index)].content")
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    usedTools = true
                    content.append(
                        .object([
                            "toolUse": .object([
                                "toolUseId": call["id"] ?? .string("call_\(index)"),
                                "name": call["function"]?["name"] ?? .string(""),
                                "input": argumentsObject(call["function"]?["arguments"]?.stringValue),
                            ])
                        ]))
                }
                turns.append(role: "assistant", parts: content)
            case "tool", "function":
                usedTools = true
                turns.append(
                    role: "user",
                    parts: [
                        .object([
                            "toolResult": .object([
                                "toolUseId": message["tool_call_id"] ?? .string(""),
                                "content": .array([.object(["text": .string(plainText(of: message["content"]))])]),
                            ])
                        ])
                    ])
            default:
                break
            }
        }
        var body: JSONObject = ["messages": turns.json]
        if !system.isEmpty { body["system"] = .array(system) }
        var inference: JSONObject = [:]
        if let max = request.maxOutputTokens { inference["maxTokens"] = .int(max) }
        if let t = source["temperature"], !t.isNull { inference["temperature"] = t }
        if let p = source["top_p"], !p.isNull { inference["topP"] = p }
        if let stop = stopSequences(source["stop"]) { inference["stopSequences"] = stop }
        if !inference.isEmpty { body["inferenceConfig"] = .object(inference) }
        var tools: [JSONValue] = (source["tools"]?.arrayValue ?? []).compactMap { tool in
            guard let function = tool["function"] else { return nil }
            var spec: JSONObject = ["name": function["name"] ?? .string("")]
            if let description = function["description"] { spec["description"] = description }
            spec["inputSchema"] = .object(["json": function["parameters"] ?? .object(["type": .string("object")])])
            return .object(["toolSpec": .object(spec)])
        }
        // Bedrock rejects tool history without a tool configuration.
        if tools.isEmpty && usedTools {
            tools = [
                .object([
                    "toolSpec": .object([
                        "name": .string("noop"), "description": .string("unused"),
                        "inputSchema": .object(["json": .object(["type": .string("object")])]),
                    ])
                ])
            ]
        }
        if !tools.isEmpty {
            var config: JSONObject = ["tools": .array(tools)]
            switch ToolChoice(source["tool_choice"]) {
            case .required?: config["toolChoice"] = .object(["any": .object([:])])
            case .auto?: config["toolChoice"] = .object(["auto": .object([:])])
            case .function(let name)?: config["toolChoice"] = .object(["tool": .object(["name": name])])
            case .noTools?, nil: break  // Converse has no "none"
            }
            body["toolConfig"] = .object(config)
        }
        return body
    }

    static func blocks(_ content: JSONValue?, param: String) throws(GatewayError) -> [JSONValue] {
        try contentParts(
            content, param: param, refusal: "Bedrock models take text and image parts here",
            text: { .object(["text": $0]) },
            image: { (part) throws(GatewayError) -> JSONValue in
                let url = part["image_url"]?["url"]?.stringValue ?? ""
                guard let image = DataURL.parse(url), image.mediaType.hasPrefix("image/") else {
                    throw GatewayError.invalidImage("Bedrock takes images as base64 data URLs (data:image/png;base64,…) in \(param).", param: param)
                }
                let format = String(image.mediaType.dropFirst("image/".count))
                return .object([
                    "image": .object([
                        "format": .string(format == "jpg" ? "jpeg" : format),
                        "source": .object(["bytes": .string(image.base64)]),
                    ])
                ])
            })
    }

    /// `inputTokens` excludes cache reads and writes; the OpenAI convention includes them.
    static func usage(_ usage: JSONValue?) -> TokenUsage? {
        guard let usage, case .object = usage else { return nil }
        let read = usage["cacheReadInputTokens"]?.int64Value ?? 0
        let written = usage["cacheWriteInputTokens"]?.int64Value ?? 0
        return TokenUsage(
            inputTokens: (usage["inputTokens"]?.int64Value ?? 0) + read + written, outputTokens: usage["outputTokens"]?.int64Value ?? 0,
            cachedInputTokens: read, cacheWriteTokens: written)
    }

    static func finishReason(_ stop: String?) -> String {
        switch stop {
        case "tool_use": return "tool_calls"
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "guardrail_intervened", "content_filtered": return "content_filter"
        default: return "stop"
        }
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        guard let json = try? JSONValue.decode(body) else { return (body, nil) }
        var text = ""
        var reasoning = ""
        var calls: [JSONValue] = []
        for block in json["output"]?["message"]?["content"]?.arrayValue ?? [] {
            if let piece = block["text"]?.stringValue { text += piece }
            if let piece = block["reasoningContent"]?["reasoningText"]?["text"]?.stringValue { reasoning += piece }
            if let use = block["toolUse"] {
                calls.append(openAIToolCall(id: use["toolUseId"] ?? .null, name: use["name"] ?? .null, arguments: argumentsText(use["input"])))
            }
        }
        let usage = Self.usage(json["usage"])
        return (
            chatCompletion(
                id: "chatcmpl-bedrock-\(UInt32.random(in: 0...UInt32.max))", model: .string(model), text: text, reasoning: reasoning,
                toolCalls: calls, finishReason: Self.finishReason(json["stopReason"]?.stringValue), usage: usage),
            usage
        )
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        BedrockStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let secret = (try? Credential(credential))?.secretAccessKey ?? credential
        let message = (try? JSONValue.decode(failure.body))?["message"]?.stringValue.map { SecretScrubber.scrub($0, secrets: [secret]) }
        switch failure.status {
        case 401, 403: return .platformKeyRejected(provider: provider.id)
        case 429: return .upstreamRateLimited(provider: provider.id, retryAfter: failure.retryAfter)
        case 408: return .upstreamTimeout(provider: provider.id, phase: "the model timed out")
        case 400, 404, 413, 422:
            return .upstreamRejectedRequest(provider: provider.id, status: failure.status, message: message, param: nil, code: nil)
        default: return .upstreamFailed(provider: provider.id, status: failure.status)
        }
    }
}

/// ConverseStream's binary event-stream as OpenAI chunks. Usage arrives in the final `metadata` event,
/// after `messageStop`; the usage chunk (if asked) and `[DONE]` follow it.
struct BedrockStreamRelay: StreamRelay {
    let clientWantsUsage: Bool
    private(set) var usage: TokenUsage?
    private(set) var generatedTextBytes = 0
    private var decoder = EventStreamDecoder()
    private var sawStop = false
    private var sawMetadata = false
    private var endedCleanly = false
    private var failed = false
    /// Converse streams name neither an id nor the model.
    private var writer = ChunkWriter(id: "chatcmpl-bedrock-\(UInt32.random(in: 0...UInt32.max))")

    init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    var completed: Bool { !failed && (sawMetadata || (sawStop && endedCleanly)) }

    mutating func relay(_ chunk: [UInt8]) -> [UInt8]? {
        guard !failed else { return [] }
        do {
            var out: [UInt8] = []
            for message in try decoder.append(chunk) { out += translate(message) }
            return out
        } catch {
            failed = true
            return ChunkWriter.partialAnswerError("Provider 'aws' sent a corrupted stream (\(error))", code: .string("upstream_stream_corrupted"))
        }
    }

    mutating func finish() -> [UInt8] {
        endedCleanly = !decoder.hasPartialFrame
        guard completed, !sawMetadata else { return [] }
        return ChunkWriter.done
    }

    private mutating func translate(_ message: EventStreamMessage) -> [UInt8] {
        let json = (try? JSONValue.decode(message.payload)) ?? .object([:])
        if message.headers[":message-type"] != "event" {
            failed = true
            let type = message.headers[":exception-type"] ?? message.headers[":error-code"] ?? "upstream_error"
            return ChunkWriter.failedMidStream(
                provider: "aws", reason: json["message"]?.stringValue ?? message.headers[":error-message"] ?? type,
                code: .string(type))
        }
        switch message.headers[":event-type"] {
        case "messageStart":
            return writer.chunk(delta: ["role": .string("assistant"), "content": .string("")])
        case "contentBlockStart":
            guard let use = json["start"]?["toolUse"], let index = json["contentBlockIndex"]?.int64Value else { return [] }
            return writer.toolCallStart(providerIndex: index, id: use["toolUseId"] ?? .null, name: use["name"] ?? .null)
        case "contentBlockDelta":
            let delta = json["delta"]
            if let text = delta?["text"]?.stringValue {
                generatedTextBytes += text.utf8.count
                return writer.chunk(delta: ["content": .string(text)])
            }
            if let input = delta?["toolUse"]?["input"]?.stringValue {
                generatedTextBytes += input.utf8.count
                return writer.toolCallArguments(providerIndex: json["contentBlockIndex"]?.int64Value, input)
            }
            if let thinking = delta?["reasoningContent"]?["text"]?.stringValue {
                generatedTextBytes += thinking.utf8.count
                return writer.chunk(delta: ["reasoning_content": .string(thinking)])
            }
            return []
        case "messageStop":
            sawStop = true
            return writer.chunk(delta: [:], finishReason: BedrockConverseAdapter.finishReason(json["stopReason"]?.stringValue))
        case "metadata":
            sawMetadata = true
            usage = BedrockConverseAdapter.usage(json["usage"])
            return writer.end(usage: usage, clientWantsUsage: clientWantsUsage)
        default:
            return []
        }
    }
}
