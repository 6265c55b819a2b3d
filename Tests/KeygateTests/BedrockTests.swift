import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateProviders

@Suite struct BedrockTranslationTests {
    @Test func translatesARequestAndSignsItForTheModelPath() throws {
        let chat = try ChatCompletionRequest.parse(
            Array(
                #"""
                {"model":"aws/global.anthropic.claude-sonnet-5-v1:0","max_tokens":100,"temperature":0.3,
                 "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},
                             {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                             {"role":"tool","tool_call_id":"t1","content":"done"}]}
                """#.utf8))
        let resolved = try #require(try CatalogLoader.builtIn().resolve(model: "bedrock/global.anthropic.claude-sonnet-5-v1:0"))
        let credential = #"{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","region":"eu-west-1"}"#
        let request = try BedrockConverseAdapter().makeRequest(chat, for: resolved, credential: credential)
        #expect(request.url == "https://bedrock-runtime.eu-west-1.amazonaws.com/model/global.anthropic.claude-sonnet-5-v1%3A0/converse")
        let authorization = try #require(request.headers.first { $0.name == "authorization" }?.value)
        #expect(authorization.contains("Credential=AKIDEXAMPLE/") && authorization.contains("/eu-west-1/bedrock/aws4_request"))
        #expect(!authorization.contains("wJalrXUtnFEMI"))
        let body = try JSONValue.decode(request.body)
        #expect(body["system"]?.arrayValue?.first?["text"] == .string("Be brief."))
        #expect(body["inferenceConfig"]?["maxTokens"]?.int64Value == 100)
        #expect(body["messages"]?.arrayValue?.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])
        #expect(body["toolConfig"]?["tools"]?.arrayValue?.isEmpty == false, "tool history needs a tool configuration")
    }

    /// The parser cannot know whether the operator's platform key or an organisation's key is malformed.
    @Test func anUnreadableCredentialIsNotBlamedOnABYOKKey() throws {
        let chat = try ChatCompletionRequest.parse(Array(#"{"model":"x","messages":[{"role":"user","content":"hi"}]}"#.utf8))
        let resolved = try #require(try CatalogLoader.builtIn().resolve(model: "bedrock/global.anthropic.claude-sonnet-5-v1:0"))
        let error = #expect(throws: GatewayError.self) {
            _ = try BedrockConverseAdapter().makeRequest(chat, for: resolved, credential: "AKIDEXAMPLE:not-json")
        }
        if let error {
            #expect(error.statusCode == 500)
            #expect(error.code == "provider_credential_unreadable")
            #expect(error.message.contains("KEYGATE_PROVIDER_AWS_API_KEY") && error.message.contains("org admin"))
        }
    }

    @Test func translatesTheBinaryStreamAndReadsUsageFromMetadata() throws {
        func frame(_ type: String, _ json: String) -> [UInt8] {
            EventStreamEncoder.encode(
                headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")], payload: Array(json.utf8))
        }
        let stream =
            frame("messageStart", #"{"role":"assistant"}"#)
            + frame("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
            + frame("messageStop", #"{"stopReason":"end_turn"}"#)
            + frame("metadata", #"{"usage":{"inputTokens":5,"cacheReadInputTokens":3,"outputTokens":2}}"#)
        var relay = BedrockConverseAdapter().makeStreamRelay(clientWantsUsage: true)
        var out: [UInt8] = []
        for byte in stream { out += relay.relay([byte]) ?? [] }
        out += relay.finish()
        let text = String(decoding: out, as: UTF8.self)
        #expect(relay.completed && relay.usage == TokenUsage(inputTokens: 8, outputTokens: 2, cachedInputTokens: 3))
        #expect(text.contains(#""content":"Hi""#) && text.contains(#""finish_reason":"stop""#) && text.contains(#""prompt_tokens":8"#))
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        var corrupted = stream
        corrupted[40] ^= 0xFF
        var broken = BedrockConverseAdapter().makeStreamRelay(clientWantsUsage: false)
        let error = String(decoding: broken.relay(corrupted) ?? [], as: UTF8.self)
        #expect(error.contains("upstream_stream_corrupted") && !broken.completed)
    }
}

@Suite struct BedrockGatewayTests {
    @Test func runsThroughTheGatewayWithAVerifiedSignature() async throws {
        try await withHarness { h in
            h.fake.acceptAWS(accessKeyID: GatewayHarness.awsAccessKeyID, secret: GatewayHarness.awsSecret)
            let reply = try await h.chat("hello", model: "aws/global.anthropic.claude-sonnet-5-v1:0")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(
                ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
                    == "Hello from the fake upstream.")
            #expect(h.fake.requests.last?.path.hasSuffix("/converse") == true)
            let streamed = try await h.chat("hello #fake chunks=3", model: "bedrock/global.anthropic.claude-opus-5", stream: true, includeUsage: true)
            #expect(ssePayloads(streamed.text).last == "[DONE]", "\(streamed.text)")
            #expect(streamed.text.contains(#""completion_tokens":3"#))
            let record = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(record.provider == "aws" && record.outputTokens == 3 && record.cachedInputTokens == 4 && !record.tokensEstimated)
            let corrupt = try await h.chat("hello corrupt #fake chunks=3", model: "aws/global.anthropic.claude-opus-5", stream: true)
            #expect(corrupt.text.contains("upstream_stream_corrupted"))
            // A wrong secret produces a signature the provider refuses: the platform's credential, so 502.
            h.fake.acceptAWS(accessKeyID: GatewayHarness.awsAccessKeyID, secret: "another-secret")
            #expect(try await h.chat("hello", model: "aws/global.anthropic.claude-opus-5").status == 502)
        }
    }
}
