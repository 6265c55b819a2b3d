import Testing
@testable import KeygateCore
@testable import KeygateProviders

/// The byte-level looks into JSON agree with a full parse.
@Suite struct JSONScanTests {
    /// Chunks and the written length of their text values (escapes as written, counted by hand).
    static let chunks: [(String, Int)] = [
        (#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#, 0),
        (#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Gate\"ways\\ \u00e9 route"},"finish_reason":null}]}"#, 25),
        (#"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#, 0),
        (#"{"id":"c1","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":5,"total_tokens":24}}"#, 0),
        (#"{"id":"c1","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":null}"#, 1),
        (
            #"{ "choices" : [ { "delta" : { "tool_calls" : [ { "function" : { "arguments" : "{\"city\": \"Oslo\"}" } } ] } , "finish_reason" : "tool_calls" } ] , "usage" : { "prompt_tokens" : 3 } }"#,
            20
        ),
        (#"{"choices":[{"delta":{"reasoning_content":"think","refusal":"no"}}]}"#, 7),
        // Key-like text inside a value is not a key; a non-string value of a text key counts nothing.
        (#"{"choices":[{"delta":{"content":"\"usage\": {\"finish_reason\": \"stop\"}"},"finish_reason":""}],"usage":"none"}"#, 40),
        (#"{"choices":[{"delta":{"content":null,"arguments":5}}]}"#, 0),
    ]

    @Test func agreesWithAFullParse() throws {
        for (text, textBytes) in Self.chunks {
            let bytes = Array(text.utf8)
            let json = try JSONValue.decode(bytes)
            let facts = JSONScan.chunkFacts(in: bytes)
            #expect(facts.textBytes == textBytes, "\(text)")
            #expect(facts.hasFinishReason == Self.hasFinishReason(json), "\(text)")
            #expect(facts.hasUsageObject == (json["usage"]?.objectValue != nil), "\(text)")
        }
    }

    @Test func aTruncatedChunkNeverTrapsOrOverruns() {
        let text = Array(Self.chunks[1].0.utf8) + Array(Self.chunks[5].0.utf8)
        for cut in 0...text.count {
            _ = JSONScan.chunkFacts(in: Array(text[..<cut]))
        }
    }

    static func hasFinishReason(_ json: JSONValue) -> Bool {
        json["choices"]?.arrayValue?.contains { ($0["finish_reason"]?.stringValue ?? "").isEmpty == false } ?? false
    }

    static let answers = [
        #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":5,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":3}}}"#,
        "{\n  \"usage\" : { \"prompt_tokens\" : 7 , \"completion_tokens\" : 2 } ,\n  \"choices\" : [ ]\n}\n",
        #"{"choices":[{"message":{"content":"\"usage\": {\"prompt_tokens\": 999}","usage":{"prompt_tokens":998}}}]}"#,
        #"{"usage":{"prompt_tokens":1,"completion_tokens":1},"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}"#,
        #"{"choices":[],"usage":null,"n":-1.5e3,"ok":true,"list":[1,[2,{"usage":{}}],"]"]}"#,
        #"{"choices":[],"us\u0061ge":{"prompt_tokens":4,"completion_tokens":1}}"#,
    ]

    @Test func theTopLevelUsageIsTheOneAFullParseFinds() throws {
        let provider = OpenAIChatAdapter()
        for text in Self.answers {
            let bytes = Array(text.utf8)
            let parsed = try JSONValue.decode(bytes)["usage"].flatMap(OpenAIUsage.tokenUsage(from:))
            #expect(provider.usage(fromResponseBody: bytes) == parsed, "\(text)")
        }
        #expect(JSONScan.topLevelValue(in: Array(Self.answers[2].utf8), key: "usage") == .absent, "nested or quoted usage is not the answer's")
        #expect(provider.usage(fromResponseBody: Array(Self.answers[3].utf8))?.inputTokens == 2, "a repeated key: the last, as parsed")
    }

    @Test func anythingButOneWholeObjectIsUnreadable() {
        let whole = Array(Self.answers[0].utf8)
        for cut in 0..<whole.count {
            #expect(JSONScan.topLevelValue(in: Array(whole[..<cut]), key: "usage") == .unreadable, "cut at \(cut)")
        }
        for text in ["[1]", "{} {}", #"{"a":1,}"#, #"{"a" 1}"#, "", "  "] {
            #expect(JSONScan.topLevelValue(in: Array(text.utf8), key: "a") == .unreadable, "\(text)")
        }
    }

    /// The forwarded body, spliced into the bytes as received, means what re-encoding the parsed body means,
    /// and leaves everything else byte for byte.
    @Test func theSplicedBodyEqualsTheReencodedOne() throws {
        let bodies = [
            #"{"model":"openai/gpt-5.6-luna","messages":[{"role":"user","content":"caf\u00e9 \"quoted\""}]}"#,
            #"{ "messages" : [ {"role":"user","content":"hi"} ] , "stream" : true , "model" : "gpt-5.6-luna" }"#,
            #"{"model":"gpt-5.6-luna","stream":true,"stream_options":{"include_usage":false,"x":1},"messages":[{"role":"user","content":"hi"}]}"#,
            #"{"model":"gpt-5.6-luna","stream":true,"stream_options":null,"messages":[{"role":"user","content":"hi"}]}"# + "\n",
            #"{"model":"gpt-5.6-luna","stream":false,"messages":[{"role":"user","content":"{\"model\":\"x\"}"}],"metadata":{"model":"y"}}"#,
            // Keys spelt with escapes: the scan does not see them, the parse does; never a second copy.
            #"{"model":"gpt-5.6-luna","stream":true,"stream_opti\u006fns":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}"#,
            #"{"mod\u0065l":"gpt-5.6-luna","messages":[{"role":"user","content":"hi"}]}"#,
        ]
        for text in bodies {
            let request = try ChatCompletionRequest.parse(Array(text.utf8))
            let spliced = OpenAIChatAdapter.forwardedBody(request, modelID: "gpt-5.6-luna-2026")
            let reencoded = OpenAIChatAdapter.reencoded(request, modelID: "gpt-5.6-luna-2026")
            #expect(try JSONValue.decode(spliced) == JSONValue.decode(reencoded), "\(text)")
            let forwarded = try JSONValue.decode(spliced)
            #expect(forwarded["model"]?.stringValue == "gpt-5.6-luna-2026")
            #expect(forwarded["metadata"]?["model"]?.stringValue ?? "y" == "y", "only the top-level model changes")
            if request.stream { #expect(forwarded["stream_options"]?["include_usage"]?.boolValue == true) }
            if case .object(let fields) = forwarded { #expect(fields.firstRepeatedKey == nil, "\(String(decoding: spliced, as: UTF8.self))") }
        }
        let first = try ChatCompletionRequest.parse(Array(bodies[0].utf8))
        #expect(
            String(decoding: OpenAIChatAdapter.forwardedBody(first, modelID: "m"), as: UTF8.self)
                == #"{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \"quoted\""}]}"#, "the prompt is forwarded as sent")
    }
}
