import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateProviders

/// Golden translations for the Gemini adapter (../shared/reference/providers.md §3).
@Suite struct GeminiTranslationTests {
    let provider = GeminiAdapter()

    @Test func translatesARequest() throws {
        let chat = try ChatCompletionRequest.parse(
            Array(
                #"""
                {"model":"google/gemini-3.7-flash","max_tokens":50,"temperature":0.2,"stop":["X"],"tool_choice":{"type":"function","function":{"name":"lookup"}},
                 "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}},
                 "messages":[{"role":"system","content":"Be brief."},
                             {"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]},
                             {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{\"q\":1}"}}]},
                             {"role":"tool","tool_call_id":"c1","content":"{\"answer\":42}"}],
                 "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]}
                """#.utf8))
        let resolved = try #require(try CatalogLoader.builtIn().resolve(model: "gemini/gemini-3.7-flash"))
        let request = try provider.makeRequest(chat, for: resolved, credential: "AIza-test")
        #expect(request.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-3.7-flash:generateContent")
        #expect(request.headers.contains { $0.name == "x-goog-api-key" && $0.value == "AIza-test" })
        let body = try JSONValue.decode(request.body)
        #expect(body["systemInstruction"]?["parts"]?.arrayValue?.first?["text"] == .string("Be brief."))
        let contents = try #require(body["contents"]?.arrayValue)
        #expect(contents.map { $0["role"]?.stringValue ?? "" } == ["user", "model", "user"])
        #expect(contents[0]["parts"]?.arrayValue?.last?["inlineData"]?["mimeType"] == .string("image/jpeg"))
        #expect(contents[1]["parts"]?.arrayValue?.first?["functionCall"]?["args"]?["q"]?.int64Value == 1)
        #expect(
            contents[2]["parts"]?.arrayValue?.first?["functionResponse"]?["name"] == .string("lookup"), "the name comes back from the matching call")
        #expect(body["toolConfig"]?["functionCallingConfig"]?["allowedFunctionNames"] == .array([.string("lookup")]))
        #expect(body["generationConfig"]?["maxOutputTokens"]?.int64Value == 50)
        #expect(body["generationConfig"]?["stopSequences"] == .array([.string("X")]))
        #expect(body["generationConfig"]?["responseMimeType"] == .string("application/json"))
        #expect(body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first?["name"] == .string("lookup"))
    }

    @Test func translatesAnAnswerWithAToolCallAndThoughts() throws {
        let answer =
            #"{"candidates":[{"content":{"role":"model","parts":[{"text":"thinking","thought":true},{"functionCall":{"name":"lookup","args":{"q":"x"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":40,"candidatesTokenCount":10,"thoughtsTokenCount":5},"responseId":"r1"}"#
        let (translated, usage) = provider.response(fromBody: Array(answer.utf8), model: "gemini-3.7-flash")
        #expect(usage == TokenUsage(inputTokens: 100, outputTokens: 15, cachedInputTokens: 40, reasoningTokens: 5))
        let json = try JSONValue.decode(try #require(translated))
        let choice = try #require(json["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"] == .string("tool_calls"), "Gemini says STOP for tool calls")
        #expect(choice["message"]?["reasoning_content"] == .string("thinking"))
        #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == .string(#"{"q":"x"}"#))
        let blocked = #"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}"#
        let blockedJSON = try JSONValue.decode(try #require(provider.response(fromBody: Array(blocked.utf8), model: "m").translated))
        #expect(blockedJSON["choices"]?.arrayValue?.first?["finish_reason"] == .string("content_filter"))
    }

    @Test func translatesTheStreamWithoutASentinel() throws {
        let stream =
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}],\"responseId\":\"r9\"}\r\n\r\n"
            + "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":2}}\r\n\r\n"
        var relay = provider.makeStreamRelay(clientWantsUsage: true)
        var out = relay.relay(Array(stream.utf8)) ?? []
        #expect(!relay.completed, "not before the body ends")
        out += relay.finish()
        #expect(relay.completed)
        #expect(relay.usage == TokenUsage(inputTokens: 7, outputTokens: 2))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        #expect(text.contains(#""content":"Hel""#) && text.contains(#""finish_reason":"stop""#) && text.contains(#""prompt_tokens":7"#))
        var cut = provider.makeStreamRelay(clientWantsUsage: false)
        _ = cut.relay(Array(stream.prefix(90).utf8))
        #expect(!cut.completed)
    }

    @Test func aBadKeyIs400ApiKeyInvalid() throws {
        let spec = try #require(try CatalogLoader.builtIn().provider(named: "google"))
        let failure = UpstreamFailure(
            status: 400, body: Array(#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#.utf8),
            retryAfter: nil)
        #expect(provider.isCredentialRejection(failure))
        #expect(provider.error(for: failure, provider: spec, credential: "k").code == "upstream_auth_failed")
        let bad = UpstreamFailure(
            status: 400, body: Array(#"{"error":{"code":400,"message":"bad field","status":"INVALID_ARGUMENT"}}"#.utf8), retryAfter: nil)
        #expect(!provider.isCredentialRejection(bad) && provider.error(for: bad, provider: spec, credential: "k").statusCode == 400)
    }
}

@Suite struct GeminiGatewayTests {
    @Test func answersAndStreamsThroughTheGateway() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hello", model: "gemini/gemini-3.7-flash")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(
                ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
                    == "Hello from the fake upstream.")
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/v1beta/models/gemini-3.7-flash:generateContent" && sent.headers["x-goog-api-key"] == GatewayHarness.platformKey)
            let streamed = try await h.chat("hello #fake chunks=3", model: "google/gemini-3.7-flash", stream: true, includeUsage: true)
            #expect(ssePayloads(streamed.text).last == "[DONE]")
            #expect(streamed.text.contains(#""completion_tokens":3"#))
            let record = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(record.provider == "google" && record.outputTokens == 3 && !record.tokensEstimated && record.creditsCharged.value > 0)
        }
    }

    @Test func anOrganisationsGeminiKeyIsCheckedAndARevokedOneMarkedInvalid() async throws {
        try await withHarness { h in
            await #expect(throws: GatewayError.self) { try await h.addBYOKKey("AIza-not-a-real-key-000", provider: "gemini", validate: true) }
            let key = try await h.addBYOKKey("AIza-org-key-0123456789", provider: "gemini", validate: false)
            let rejected = try await h.chat("hi", model: "gemini-3.7-flash")
            #expect(rejected.status == 403 && rejected.error?["code"] as? String == "byok_key_rejected")
            #expect(try await h.gateway.store.byokKey(id: key.id, organizationID: h.organization.id)?.status == .invalid)
        }
    }
}
