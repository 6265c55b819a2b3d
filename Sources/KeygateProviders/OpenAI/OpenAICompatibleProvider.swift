import Foundation
import KeygateCore

/// OpenAI Chat Completions and every provider that speaks it (`{base}/chat/completions`, Bearer auth).
public struct OpenAICompatibleProvider: ChatProvider {
    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest {
        var body = request.body
        body["model"] = .string(resolved.model.id)
        if request.stream {
            // Always ask for usage so a stream is never billed blind; the relay hides it again when the
            // client did not ask for it.
            var options = body["stream_options"]?.objectValue ?? [:]
            options["include_usage"] = .bool(true)
            body["stream_options"] = .object(options)
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try body.encoded())
        } catch {
            throw GatewayError.badRequest("The request body could not be re-encoded.")
        }
        var base = resolved.provider.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return UpstreamRequest(
            method: "POST",
            url: base + "/chat/completions",
            headers: [
                ("authorization", "Bearer " + credential),
                ("content-type", "application/json"),
                ("accept", request.stream ? "text/event-stream" : "application/json"),
            ],
            body: bytes)
    }

    public func usage(fromResponseBody body: [UInt8]) -> TokenUsage? {
        guard let envelope = try? JSONDecoder().decode(UsageEnvelope.self, from: Data(body)) else { return nil }
        return envelope.usage?.tokenUsage
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        OpenAISSERelay(forwardUsageChunk: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let detail = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(failure.body))
        let kind = detail?.error?.type ?? detail?.error?.code?.stringValue
        switch failure.status {
        case 401, 403:
            return .platformKeyRejected(provider: provider.id)
        case 429 where kind == "insufficient_quota":
            return .platformQuotaExhausted(provider: provider.id)
        case 429:
            return .upstreamRateLimited(provider: provider.id, retryAfter: failure.retryAfter)
        case 400, 404, 409, 413, 422:
            let message = detail?.error?.message.map { SecretScrubber.scrub($0, secrets: [credential]) }
            return .upstreamRejectedRequest(provider: provider.id, status: failure.status, message: message,
                                            param: detail?.error?.param, code: detail?.error?.code?.stringValue)
        default:
            return .upstreamFailed(provider: provider.id, status: failure.status)
        }
    }
}

/// `usage` as OpenAI-compatible providers report it (DeepSeek's cache fields included).
struct OpenAIUsage: Decodable {
    struct PromptDetails: Decodable { var cached_tokens: Int64? }
    struct CompletionDetails: Decodable { var reasoning_tokens: Int64? }
    var prompt_tokens: Int64?
    var completion_tokens: Int64?
    var prompt_tokens_details: PromptDetails?
    var completion_tokens_details: CompletionDetails?
    var prompt_cache_hit_tokens: Int64?

    var tokenUsage: TokenUsage {
        TokenUsage(
            inputTokens: prompt_tokens ?? 0,
            outputTokens: completion_tokens ?? 0,
            cachedInputTokens: prompt_tokens_details?.cached_tokens ?? prompt_cache_hit_tokens ?? 0,
            reasoningTokens: completion_tokens_details?.reasoning_tokens ?? 0)
    }
}

struct UsageEnvelope: Decodable { var usage: OpenAIUsage? }

struct ErrorEnvelope: Decodable {
    struct Body: Decodable {
        var message: String?
        var type: String?
        var param: String?
        var code: FlexibleString?
    }
    var error: Body?
}

/// Some providers send `code` as a number.
struct FlexibleString: Decodable {
    var stringValue: String?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { stringValue = s }
        else if let i = try? c.decode(Int64.self) { stringValue = String(i) }
        else { stringValue = nil }
    }
}
