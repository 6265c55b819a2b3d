import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateProviders

@Suite struct ResponsesTranslationTests {
    @Test func translatesARequestWithToolsAndHistory() throws {
        let chat = try ChatCompletionRequest.parse(
            Array(
                #"""
                {"model":"openai-responses/gpt-5.6-sol","max_completion_tokens":30,"reasoning_effort":"low","tool_choice":{"type":"function","function":{"name":"f"}},
                 "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
                             {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                             {"role":"tool","tool_call_id":"c1","content":"ok"}],
                 "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}]}
                """#.utf8))
        let resolved = try #require(try CatalogLoader.builtIn().resolve(model: "openai-responses/gpt-5.6-sol"))
        let request = try OpenAIResponsesAdapter().makeRequest(chat, for: resolved, credential: "sk-x")
        #expect(request.url == "https://api.openai.com/v1/responses")
        let body = try JSONValue.decode(request.body)
        #expect(body["instructions"] == .string("Be brief.") && body["store"] == .bool(false) && body["max_output_tokens"]?.int64Value == 30)
        #expect(body["reasoning"]?["effort"] == .string("low"))
        let input = try #require(body["input"]?.arrayValue)
        #expect(input.map { $0["type"]?.stringValue ?? $0["role"]?.stringValue ?? "" } == ["user", "function_call", "function_call_output"])
        #expect(input[0]["content"]?.arrayValue?.last?["type"] == .string("input_image"))
        #expect(body["tools"]?.arrayValue?.first?["name"] == .string("f"), "function tools are flat")
        #expect(body["tool_choice"] == .object(["type": .string("function"), "name": .string("f")]))
    }

    @Test func translatesAnswersAndStreams() throws {
        let answer =
            #"{"id":"resp_1","status":"completed","model":"gpt-5.6-sol","output":[{"type":"reasoning"},{"type":"function_call","call_id":"c9","name":"f","arguments":"{\"a\":1}"}],"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":2},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":3}}}"#
        let (translated, usage) = OpenAIResponsesAdapter().response(fromBody: Array(answer.utf8), model: "m")
        #expect(usage == TokenUsage(inputTokens: 10, outputTokens: 4, cachedInputTokens: 2, reasoningTokens: 3))
        let json = try JSONValue.decode(try #require(translated))
        #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == .string("tool_calls"))
        let stream =
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"m\"}}\n\n"
            + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        var relay = OpenAIResponsesAdapter().makeStreamRelay(clientWantsUsage: false)
        let out = String(decoding: (relay.relay(Array(stream.utf8)) ?? []) + relay.finish(), as: UTF8.self)
        #expect(relay.completed && relay.usage?.inputTokens == 3)
        #expect(out.contains(#""content":"Hi""#) && out.hasSuffix("data: [DONE]\n\n") && !out.contains("prompt_tokens"))
    }
}

@Suite struct ResponsesGatewayTests {
    @Test func runsThroughTheGateway() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hello", model: "openai-responses/gpt-5.6-sol")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(h.fake.requests.last?.path == "/v1/responses")
            #expect(
                ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
                    == "Hello from the fake upstream.")
            let streamed = try await h.chat("hello #fake chunks=2", model: "openai-responses/gpt-5.6-sol", stream: true, includeUsage: true)
            #expect(ssePayloads(streamed.text).last == "[DONE]" && streamed.text.contains(#""completion_tokens":2"#))
            let record = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(record.provider == "openai-responses" && record.outputTokens == 2 && !record.tokensEstimated)
        }
    }
}

@Suite struct AzureResponsesGatewayTests {
    @Test func anAzureResponsesCredentialRunsOnItsResource() async throws {
        try await withHarness { h in
            h.fake.accept("0123456789abcdef0123")
            try await h.addBYOKKey(
                #"{"endpoint":"https://acme.openai.azure.com","apiKey":"0123456789abcdef0123","apiVersion":"v1"}"#, provider: "azure-responses")
            let reply = try await h.request(
                .POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi", model: "my-deployment"),
                headers: [("x-byok-provider", "azure-responses")])
            #expect(reply.status == 200, "\(reply.text)")
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/openai/v1/responses" && sent.headers["api-key"] == "0123456789abcdef0123")
            #expect(sent.json?["model"] as? String == "my-deployment")
        }
    }
}
