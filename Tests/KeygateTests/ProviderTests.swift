import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateProviders

@Suite struct OpenAIChatAdapterTests {
    let provider = OpenAIChatAdapter()

    func resolved(_ name: String) throws -> ResolvedModel {
        try #require(try CatalogLoader.builtIn().resolve(model: name))
    }

    @Test func buildsTheUpstreamRequestWithTheProviderModelAndUsageRequested() throws {
        let chat = try ChatCompletionRequest.parse(
            Array(#"{"model":"groq/openai/gpt-oss-120b","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.7}"#.utf8))
        let request = try provider.makeRequest(chat, for: try resolved("groq/openai/gpt-oss-120b"), credential: "gsk_test")
        #expect(request.url == "https://api.groq.com/openai/v1/chat/completions")
        #expect(request.headers.contains { $0.name == "authorization" && $0.value == "Bearer gsk_test" })
        let body = try JSONValue.decode(request.body)
        #expect(body["model"] == .string("openai/gpt-oss-120b"))
        #expect(body["stream_options"]?["include_usage"] == .bool(true))
        #expect(body["temperature"] == .double(0.7))
    }

    @Test func readsUsageIncludingCachedAndReasoningTokens() {
        let body =
            #"{"id":"x","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":30},"completion_tokens_details":{"reasoning_tokens":5}}}"#
        #expect(
            provider.usage(fromResponseBody: Array(body.utf8))
                == TokenUsage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 30, reasoningTokens: 5))
        let deepseek = #"{"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_cache_hit_tokens":60,"prompt_cache_miss_tokens":40}}"#
        #expect(provider.usage(fromResponseBody: Array(deepseek.utf8))?.cachedInputTokens == 60)
        #expect(provider.usage(fromResponseBody: Array(#"{"choices":[]}"#.utf8)) == nil)
    }

    /// Every translating adapter writes its `usage` with this one writer, so none drops a count it has.
    @Test func theUsageWriterWritesCacheWritesAndReasoningTokensBoth() throws {
        let usage = TokenUsage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 30, reasoningTokens: 5, cacheWriteTokens: 40)
        let json = try JSONValue.decode(OpenAIUsage.json(usage).encoded())
        #expect(json["prompt_tokens"]?.int64Value == 100)
        #expect(json["completion_tokens"]?.int64Value == 20)
        #expect(json["total_tokens"]?.int64Value == 120)
        #expect(json["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 30)
        #expect(json["prompt_tokens_details"]?["cache_write_tokens"]?.int64Value == 40)
        #expect(json["completion_tokens_details"]?["reasoning_tokens"]?.int64Value == 5)
        // What the reader knows of it comes back unchanged.
        #expect(OpenAIUsage.tokenUsage(from: json) == TokenUsage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 30, reasoningTokens: 5))
    }

    @Test func mapsProviderErrorsWithoutLeakingTheKey() throws {
        let spec = try resolved("openai/gpt-5.6-luna").provider
        let key = "sk-platform-abcdefghijklmnop"
        let echo = Array(
            #"{"error":{"message":"Incorrect API key provided: sk-platform-abcdefghijklmnop.","type":"invalid_request_error","code":"invalid_api_key"}}"#
                .utf8)
        let rejected = provider.error(for: UpstreamFailure(status: 401, body: echo, retryAfter: nil), provider: spec, credential: key)
        #expect(rejected.statusCode == 502)
        #expect(rejected.code == "upstream_auth_failed")
        #expect(!rejected.message.contains(key))

        let limited = provider.error(for: UpstreamFailure(status: 429, body: [], retryAfter: "7"), provider: spec, credential: key)
        #expect(limited.statusCode == 429)
        #expect(limited.retryAfter == "7")

        let quota = Array(#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}"#.utf8)
        #expect(provider.error(for: UpstreamFailure(status: 429, body: quota, retryAfter: nil), provider: spec, credential: key).statusCode == 503)

        let bad = Array(
            #"{"error":{"message":"max_tokens is too large (key sk-platform-abcdefghijklmnop)","type":"invalid_request_error","param":"max_tokens","code":null}}"#
                .utf8)
        let badRequest = provider.error(for: UpstreamFailure(status: 400, body: bad, retryAfter: nil), provider: spec, credential: key)
        #expect(badRequest.statusCode == 400)
        #expect(badRequest.param == "max_tokens")
        #expect(badRequest.message.contains("max_tokens is too large"))
        #expect(!badRequest.message.contains(key))

        for status in [500, 502, 503, 529] {
            #expect(
                provider.error(for: UpstreamFailure(status: status, body: [], retryAfter: nil), provider: spec, credential: key).statusCode == 502)
        }
    }
}

@Suite struct SSERelayTests {
    static let content = #"data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}"# + "\n\n"
    static let stop = #"data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"# + "\n\n"
    static let usage =
        #"data: {"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}"# + "\n\n"
    static let done = "data: [DONE]\n\n"
    static let stream = content + stop + usage + done

    func run(_ chunks: [String], forwardUsage: Bool) -> (output: String, relay: any StreamRelay) {
        var relay: any StreamRelay = OpenAIChatAdapter().makeStreamRelay(clientWantsUsage: forwardUsage)
        var output: [UInt8] = []
        for chunk in chunks {
            let bytes = Array(chunk.utf8)
            output += relay.relay(bytes) ?? bytes
        }
        output += relay.finish()
        return (String(decoding: output, as: UTF8.self), relay)
    }

    @Test func hidesTheUsageChunkTheClientDidNotAskFor() {
        let (output, relay) = run([Self.stream], forwardUsage: false)
        #expect(output == Self.content + Self.stop + Self.done)
        #expect(relay.usage == TokenUsage(inputTokens: 9, outputTokens: 3, cachedInputTokens: 2))
        #expect(relay.completed)
        #expect(relay.generatedTextBytes == 5)
    }

    @Test func passesTheUsageChunkOnWhenAsked() {
        let (output, relay) = run([Self.stream], forwardUsage: true)
        #expect(output == Self.stream)
        #expect(relay.usage?.inputTokens == 9)
    }

    @Test func givesTheSameResultHoweverTheStreamIsSplit() {
        let bytes = Array(Self.stream.utf8)
        for cut in 1..<bytes.count {
            let chunks = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            let (output, relay) = run(chunks, forwardUsage: false)
            #expect(output == Self.content + Self.stop + Self.done, "split at \(cut)")
            #expect(relay.usage?.outputTokens == 3, "split at \(cut)")
        }
        // One byte at a time, with CRLF line endings.
        let crlf = Self.stream.replacingOccurrences(of: "\n", with: "\r\n")
        let (output, relay) = run(crlf.map { String($0) }, forwardUsage: true)
        #expect(output == crlf)
        #expect(relay.usage?.inputTokens == 9)
        #expect(relay.completed)
    }

    @Test func clearsUsageRidingOnAContentChunk() throws {
        let riding =
            #"data: {"id":"c","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}"#
            + "\n\n"
        let (output, relay) = run([riding + Self.done], forwardUsage: false)
        let first = try #require(output.components(separatedBy: "\n\n").first)
        let json = try JSONValue.decode(Array(first.dropFirst("data: ".count).utf8))
        #expect(json["usage"] == .null)
        #expect(json["choices"]?.arrayValue?.count == 1)
        #expect(relay.usage?.inputTokens == 4)
    }

    @Test func aStreamWithoutDoneIsNotComplete() {
        let (_, relay) = run([Self.content], forwardUsage: false)
        #expect(!relay.completed)
        #expect(relay.usage == nil)
    }

    @Test func aCleanEndAfterTheLastChoiceFinishedIsComplete() {
        // Some providers never send [DONE].
        let (_, relay) = run([Self.content + Self.stop + Self.usage], forwardUsage: false)
        #expect(relay.completed)
        var cut: any StreamRelay = OpenAIChatAdapter().makeStreamRelay(clientWantsUsage: false)
        _ = cut.relay(Array((Self.content + Self.stop).utf8))
        #expect(!cut.completed, "without a clean end of the body the stream may have been cut")
    }
}

@Suite struct SecretScrubberTests {
    @Test func removesKnownSecretsAndKeyShapedWords() {
        let text = "Incorrect API key provided: sk-proj-abc123def456. Also kg_0123456789ab_xyz and AKIAABCDEFGHIJKLMNOP and the-secret-value"
        let clean = SecretScrubber.scrub(text, secrets: ["the-secret-value"])
        #expect(!clean.contains("sk-proj-abc123def456"))
        #expect(!clean.contains("kg_0123456789ab_xyz"))
        #expect(!clean.contains("AKIAABCDEFGHIJKLMNOP"))
        #expect(!clean.contains("the-secret-value"))
        #expect(clean.contains("Incorrect API key provided"))
    }
}
