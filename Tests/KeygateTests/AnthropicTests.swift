import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateProviders
@testable import KeygateServer
import KeygateStore

/// Golden translations for the Anthropic adapter (../shared/reference/providers.md §2).
@Suite struct AnthropicTranslationTests {
    let provider = AnthropicAdapter()

    func resolved(_ name: String = "anthropic/claude-haiku-4-5") throws -> ResolvedModel {
        try #require(try CatalogLoader.builtIn().resolve(model: name))
    }

    @Test func translatesARequestWithSystemImagesToolsAndToolResults() throws {
        let chat = try ChatCompletionRequest.parse(
            Array(
                #"""
                {"model":"anthropic/claude-haiku-4-5","stream":true,"temperature":0.5,"stop":"END","user":"u1","parallel_tool_calls":false,
                 "messages":[
                  {"role":"system","content":"Be brief."},
                  {"role":"developer","content":[{"type":"text","text":"Use tools."}]},
                  {"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"cat\"}"}}]},
                  {"role":"tool","tool_call_id":"call_1","content":"a cat"},
                  {"role":"user","content":"Thanks"}
                 ],
                 "tools":[{"type":"function","function":{"name":"lookup","description":"Look up","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
                 "tool_choice":"required"}
                """#.utf8))
        let request = try provider.makeRequest(chat, for: try resolved(), credential: "sk-ant-test")
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        #expect(request.headers.contains { $0.name == "x-api-key" && $0.value == "sk-ant-test" })
        #expect(request.headers.contains { $0.name == "anthropic-version" && $0.value == "2023-06-01" })
        let body = try JSONValue.decode(request.body)
        #expect(body["model"] == .string("claude-haiku-4-5"))
        #expect(body["max_tokens"]?.int64Value == 64000, "required upstream: the model's limit when the request sets none")
        #expect(body["system"] == .string("Be brief.\n\nUse tools."))
        #expect(body["stream"] == .bool(true))
        #expect(body["stop_sequences"] == .array([.string("END")]))
        #expect(body["metadata"]?["user_id"] == .string("u1"))
        #expect(body["tool_choice"] == .object(["type": .string("any"), "disable_parallel_tool_use": .bool(true)]))
        #expect(body["tools"]?.arrayValue?.first?["input_schema"]?["type"] == .string("object"))
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(
            messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"],
            "roles alternate; the tool result and the next user turn merge")
        let images = messages[0]["content"]?.arrayValue?.filter { $0["type"] == .string("image") } ?? []
        #expect(images.first?["source"] == .object(["type": .string("base64"), "media_type": .string("image/png"), "data": .string("iVBORw0KGgo=")]))
        #expect(images.last?["source"]?["url"] == .string("https://example.com/cat.jpg"))
        let toolUse = try #require(messages[1]["content"]?.arrayValue?.first)
        #expect(toolUse["type"] == .string("tool_use") && toolUse["input"]?["q"] == .string("cat"))
        let results = try #require(messages[2]["content"]?.arrayValue)
        #expect(results.first?["type"] == .string("tool_result") && results.first?["tool_use_id"] == .string("call_1"))
        #expect(results.last?["text"] == .string("Thanks"))
    }

    @Test func translatesAnAnswerWithToolUseAndCacheUsage() throws {
        let answer =
            #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"cat"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":7}}"#
        let (translated, usage) = provider.response(fromBody: Array(answer.utf8), model: "claude-haiku-4-5")
        #expect(usage == TokenUsage(inputTokens: 130, outputTokens: 7, cachedInputTokens: 100, cacheWriteTokens: 20))
        let json = try JSONValue.decode(try #require(translated))
        #expect(json["object"] == .string("chat.completion"))
        let choice = try #require(json["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"] == .string("tool_calls"))
        #expect(choice["message"]?["content"] == .string("Let me check."))
        let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
        #expect(call["id"] == .string("toolu_1") && call["function"]?["arguments"] == .string(#"{"q":"cat"}"#))
        #expect(json["usage"]?["prompt_tokens"]?.int64Value == 130)
        #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 100)
        // Cache reads and writes each at their own price: haiku 4.5 is $1 in, $0.10 read, $1.25 write, $5 out.
        let model = try resolved().model
        #expect(try #require(usage).cost(at: model) == PicoUSD(10 * 1_000_000 + 100 * 100_000 + 20 * 1_250_000 + 7 * 5_000_000))
    }

    static let stream = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\",\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"lookup\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"cat\\\"}\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ].joined()

    func run(_ text: String, wantsUsage: Bool, split: Int? = nil) -> (payloads: [JSONValue], done: Bool, relay: any StreamRelay) {
        var relay = provider.makeStreamRelay(clientWantsUsage: wantsUsage)
        let bytes = Array(text.utf8)
        let pieces = split.map { [Array(bytes[..<$0]), Array(bytes[$0...])] } ?? [bytes]
        var out: [UInt8] = []
        for piece in pieces { out += relay.relay(piece) ?? piece }
        out += relay.finish()
        let events = String(decoding: out, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let payloads = events.compactMap { event -> JSONValue? in
            guard event.hasPrefix("data: "), !event.hasSuffix("[DONE]") else { return nil }
            return try? JSONValue.decode(Array(event.dropFirst(6).utf8))
        }
        return (payloads, events.last == "data: [DONE]", relay)
    }

    @Test func translatesTheStreamIncludingToolArgumentDeltasAndUsage() throws {
        let (payloads, done, relay) = run(Self.stream, wantsUsage: true)
        #expect(done && relay.completed)
        #expect(relay.usage == TokenUsage(inputTokens: 16, outputTokens: 9, cachedInputTokens: 4))
        let deltas = payloads.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
        #expect(deltas.first?["role"] == .string("assistant"))
        #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == "Hello")
        let calls = deltas.compactMap { $0["tool_calls"]?.arrayValue?.first }
        #expect(calls.first?["id"] == .string("toolu_2") && calls.first?["function"]?["name"] == .string("lookup"))
        #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"q":"cat"}"#)
        #expect(calls.allSatisfy { $0["index"]?.int64Value == 0 })
        #expect(payloads.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }.last == "tool_calls")
        let usageChunk = try #require(payloads.last)
        #expect(usageChunk["choices"] == .array([]) && usageChunk["usage"]?["prompt_tokens"]?.int64Value == 16)
        #expect(payloads.allSatisfy { $0["id"] == .string("chatcmpl-msg_9") || $0["choices"] == .array([]) })
    }

    @Test func theUsageChunkOnlyWhenAskedAndAnySplitGivesTheSameStream() {
        let whole = run(Self.stream, wantsUsage: false)
        #expect(!whole.payloads.contains { $0["usage"] != nil })
        #expect(whole.relay.usage?.outputTokens == 9, "usage is still known for billing")
        for cut in stride(from: 1, to: Self.stream.utf8.count, by: 7) {
            let split = run(Self.stream, wantsUsage: false, split: cut)
            #expect(split.payloads.count == whole.payloads.count, "split at \(cut)")
            #expect(split.relay.usage == whole.relay.usage)
        }
    }

    @Test func aStreamCutOrFailedIsNotComplete() {
        let cut = run(String(Self.stream.prefix(600)), wantsUsage: false)
        #expect(!cut.relay.completed && cut.relay.usage == nil)
        let failed = run(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", wantsUsage: false)
        #expect(!failed.relay.completed)
        #expect(failed.payloads.first?["error"]?["code"] == .string("overloaded_error"))
    }

    @Test func mapsErrors() throws {
        let spec = try resolved().provider
        let overloaded = provider.error(
            for: UpstreamFailure(
                status: 529, body: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8), retryAfter: nil),
            provider: spec, credential: "sk-ant-x")
        #expect(overloaded.statusCode == 503 && overloaded.retryAfter != nil)
        let bad = provider.error(
            for: UpstreamFailure(
                status: 400,
                body: Array(
                    #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large for sk-ant-secret-123456"}}"#.utf8),
                retryAfter: nil),
            provider: spec, credential: "sk-ant-secret-123456")
        #expect(bad.statusCode == 400 && bad.message.contains("max_tokens") && !bad.message.contains("sk-ant-secret-123456"))
        #expect(provider.error(for: UpstreamFailure(status: 429, body: [], retryAfter: "4"), provider: spec, credential: "k").retryAfter == "4")
    }
}

/// Through the gateway, against the fake Anthropic endpoint.
@Suite struct AnthropicGatewayTests {
    @Test func aChatCompletionRunsOnAnthropicAndIsBilledWithCachePrices() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hello", model: "anthropic/claude-haiku-4-5")
            #expect(reply.status == 200, "\(reply.text)")
            let choice = (reply.json?["choices"] as? [[String: Any]])?.first
            #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Hello from the fake upstream.")
            #expect(choice?["finish_reason"] as? String == "stop")
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/v1/messages")
            #expect(sent.headers["x-api-key"] == GatewayHarness.platformKey && sent.headers["anthropic-version"] == "2023-06-01")
            #expect(sent.headers["authorization"] == nil)
            #expect(sent.json?["model"] as? String == "claude-haiku-4-5" && sent.json?["max_tokens"] as? Int == 64000)
            let record = try #require(try await h.usageRecords().first)
            #expect(record.provider == "anthropic" && record.inputTokens == 12 && record.cachedInputTokens == 4 && record.outputTokens == 5)
            // haiku 4.5: 8 × $1 + 4 × $0.10 + 5 × $5 per Mtok = 33.4 µUSD = 3340 µcredits.
            #expect(record.creditsCharged == MicroCredits(3340))
            #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.00334")
        }
    }

    @Test func aStreamIsTranslatedChunkByChunk() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hello #fake chunks=3", model: "claude-haiku-4-5", stream: true, includeUsage: true)
            #expect(reply.status == 200)
            let payloads = ssePayloads(reply.text)
            #expect(payloads.last == "[DONE]")
            let chunks = payloads.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
            #expect(text == "w0 w1 w2 ")
            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 12 && usage["completion_tokens"] as? Int == 3)
            let record = try #require(try await h.usageRecords().first)
            #expect(!record.tokensEstimated && record.outputTokens == 3 && record.stream)
        }
    }

    @Test func overloadedIs503AndACutStreamEndsWithAnError() async throws {
        try await withHarness { h in
            let overloaded = try await h.chat("hello #fake status=529 retry_after=11", model: "anthropic/claude-haiku-4-5")
            #expect(overloaded.status == 503)
            #expect(overloaded.headers.first(name: "retry-after") == "11")
            let cut = try await h.chat("hello #fake chunks=5 cut_after=2", model: "anthropic/claude-haiku-4-5", stream: true)
            #expect(ssePayloads(cut.text).last?.contains("upstream_stream_cut") == true)
            #expect(try await h.usageRecords(atLeast: 2).first?.tokensEstimated == true)
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).reserved == .zero)
        }
    }

    @Test func anOrganisationsAnthropicKeyIsValidatedAndUsed() async throws {
        try await withHarness { h in
            h.fake.accept("sk-ant-org-key-0123456789")
            let key = try await h.addBYOKKey("sk-ant-org-key-0123456789", provider: "claude", validate: true)
            #expect(key.provider == "anthropic" && key.lastValidationResult == "ok")
            #expect(h.fake.requests.last?.headers["x-api-key"] == "sk-ant-org-key-0123456789")
            let reply = try await h.chat("hello", model: "anthropic/claude-sonnet-5")
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            #expect(h.fake.requests.last?.headers["x-api-key"] == "sk-ant-org-key-0123456789")
        }
    }
}

/// `POST /v1/messages` for Anthropic SDK users.
@Suite struct MessagesEndpointTests {
    static let body = #"{"model":"claude-haiku-4-5","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}"#

    @Test func passesThroughOnTheKeygateKeySentAsXApiKey() async throws {
        try await withHarness { h in
            let reply = try await h.request(
                .POST, "/v1/messages", body: Self.body, key: .some(nil), headers: [("x-api-key", h.apiKey), ("anthropic-version", "2023-06-01")])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json?["type"] as? String == "message")
            #expect(reply.headers.first(name: "x-keygate-billing") == "credits")
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/v1/messages" && sent.headers["x-api-key"] == GatewayHarness.platformKey)
            #expect(sent.json?["max_tokens"] as? Int == 256)
            let record = try #require(try await h.usageRecords().first)
            #expect(record.inputTokens == 12 && record.outputTokens == 5 && record.creditsCharged == MicroCredits(3340))
        }
    }

    @Test func aRateLimitedOrganisationKeyFallsBackToCreditsOnlyWhenTheOrganisationOptedIn() async throws {
        let orgKey = "sk-ant-org-key-RATE-0123456789"
        try await withHarness { h in
            h.fake.accept(orgKey)
            try await h.addBYOKKey(orgKey, provider: "anthropic")
            let body =
                #"{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi #fake status=429 retry_after=9 only_key=\#(orgKey)"}]}"#
            let limited = try await h.request(.POST, "/v1/messages", body: body)
            #expect(limited.status == 429, "\(limited.text)")
            #expect(limited.headers.first(name: "retry-after") == "9")
            #expect(limited.headers.first(name: "x-keygate-billing") == "byok")

            try await h.gateway.store.setOrganizationSettings(OrganizationSettings(byokFallbackOnRateLimit: true), organizationID: h.organization.id)
            let fellBack = try await h.request(.POST, "/v1/messages", body: body)
            #expect(fellBack.status == 200, "\(fellBack.text)")
            #expect(fellBack.json?["type"] as? String == "message")
            #expect(fellBack.headers.first(name: "x-keygate-billing") == "credits")
            let keys = h.fake.requests.suffix(2).map { $0.headers["x-api-key"] }
            #expect(keys == [orgKey, GatewayHarness.platformKey])
            let record = try #require(try await h.usageRecords().first)
            #expect(record.billing == .credits && record.creditsCharged.value > 0)
        }
    }

    @Test func anOrganisationKeyTheProviderRefusesIsMarkedInvalidWithoutFallingBack() async throws {
        let orgKey = "sk-ant-org-key-REFUSED-01234567"
        try await withHarness { h in
            try await h.gateway.store.setOrganizationSettings(OrganizationSettings(byokFallbackOnRateLimit: true), organizationID: h.organization.id)
            let key = try await h.addBYOKKey(orgKey, provider: "anthropic")  // stored unchecked; the fake does not accept it
            let reply = try await h.request(.POST, "/v1/messages", body: Self.body)
            #expect(reply.status == 403, "\(reply.text)")
            #expect(reply.json?["type"] as? String == "error")
            let message = (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("anthropic") && message.contains(key.preview))
            #expect(!reply.text.contains(orgKey))
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            #expect(try await BYOKService(gateway: h.gateway).list(organizationSlug: "acme").first?.status == .invalid)
            // Never a silent switch to platform billing: every call went out on the organisation's key.
            let again = try await h.request(.POST, "/v1/messages", body: Self.body)
            #expect(again.status == 403)
            #expect(!h.fake.requests.isEmpty && h.fake.requests.allSatisfy { $0.headers["x-api-key"] == orgKey })
        }
    }

    @Test func aRepeatedFieldIsRefusedBeforeAnythingIsForwarded() async throws {
        try await withHarness { h in
            let body = #"{"model":"claude-haiku-4-5","max_tokens":256,"messages":[{"role":"user","content":"hello"}],"model":"claude-opus-4-5"}"#
            let reply = try await h.request(.POST, "/v1/messages", body: body)
            #expect(reply.status == 400)
            let error = try #require(reply.json?["error"] as? [String: Any])
            #expect(
                error["type"] as? String == "invalid_request_error"
                    && (error["message"] as? String)?.contains("'model' appears more than once") == true,
                "\(reply.text)")
            #expect(h.fake.requests.isEmpty)
        }
    }

    @Test func streamsAnthropicEventsUnchangedAndBillsTheirUsage() async throws {
        try await withHarness { h in
            let body =
                #"{"model":"anthropic/claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi #fake chunks=2"}]}"#
            let reply = try await h.request(.POST, "/v1/messages", body: body)
            #expect(reply.status == 200)
            #expect(reply.text.hasPrefix("event: message_start\n"))
            #expect(reply.text.contains("event: message_stop"))
            #expect(!reply.text.contains("chat.completion.chunk"))
            let record = try #require(try await h.usageRecords().first)
            #expect(record.outputTokens == 2 && !record.tokensEstimated && record.stream)
        }
    }

    @Test func errorsComeInAnthropicsFormat() async throws {
        try await withHarness(startingCredits: MicroCredits(1)) { h in
            let missingKey = try await h.request(.POST, "/v1/messages", body: Self.body, key: .some(nil))
            #expect(missingKey.status == 401)
            #expect(missingKey.json?["type"] as? String == "error")
            #expect((missingKey.json?["error"] as? [String: Any])?["type"] as? String == "authentication_error")
            let noMax = try await h.request(.POST, "/v1/messages", body: #"{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"x"}]}"#)
            #expect(noMax.status == 400 && (noMax.json?["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            let poor = try await h.request(.POST, "/v1/messages", body: Self.body)
            #expect(poor.status == 402 && (poor.json?["error"] as? [String: Any])?["type"] as? String == "billing_error")
            let unknown = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(unknown.status == 404 && (unknown.json?["error"] as? [String: Any])?["type"] as? String == "not_found_error")
        }
    }

    @Test func otherProvidersModelsAreTranslatedBothWays() async throws {
        try await withHarness { h in
            let plain = try await h.request(
                .POST, "/v1/messages",
                body:
                    #"{"model":"openai/gpt-5.6-luna","max_tokens":50,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}]}"#
            )
            #expect(plain.status == 200, "\(plain.text)")
            #expect(plain.json?["type"] as? String == "message" && plain.json?["stop_reason"] as? String == "end_turn")
            #expect(((plain.json?["content"] as? [[String: Any]])?.first?["text"] as? String) == "Hello from the fake upstream.")
            #expect((plain.json?["usage"] as? [String: Any])?["output_tokens"] as? Int == 5)
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/v1/chat/completions")
            #expect((sent.json?["messages"] as? [[String: Any]])?.first?["role"] as? String == "system")

            let streamed = try await h.request(
                .POST, "/v1/messages",
                body: #"{"model":"openai/gpt-5.6-luna","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi #fake chunks=2"}]}"#)
            #expect(streamed.status == 200)
            let names = streamed.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
            #expect(names.first == "message_start" && names.last == "message_stop", "\(names)")
            #expect(names.contains("content_block_delta") && names.contains("message_delta"))
            #expect(streamed.text.contains(#""output_tokens":2"#))
            #expect(try await h.usageRecords(atLeast: 2).first?.outputTokens == 2)
        }
    }
}
