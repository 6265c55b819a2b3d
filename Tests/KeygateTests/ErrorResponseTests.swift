import AsyncHTTPClient
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import NIOCore
import Testing

/// Every failure answers in the OpenAI error format with the right status, and changes nothing.
@Suite struct ErrorResponseTests {
    func expectOpenAIError(
        _ reply: GatewayHarness.Reply, status: Int, code: String?, param: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
        let error = reply.error
        #expect(error?["message"] as? String != nil, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(error?["type"] as? String != nil, sourceLocation: sourceLocation)
        #expect(error?["code"] as? String == code, sourceLocation: sourceLocation)
        #expect(error?["param"] as? String == param, sourceLocation: sourceLocation)
        #expect(reply.headers.first(name: "x-request-id")?.hasPrefix("req_") == true, sourceLocation: sourceLocation)
        #expect(reply.headers.first(name: "x-keygate-billing") != nil, sourceLocation: sourceLocation)
    }

    @Test func missingBadMalformedAndRevokedKeysAre401() async throws {
        try await withHarness { h in
            let body = GatewayHarness.chatBody("hi")
            expectOpenAIError(try await h.request(.POST, "/v1/chat/completions", body: body, key: .some(nil)), status: 401, code: "missing_api_key")
            expectOpenAIError(
                try await h.request(.POST, "/v1/chat/completions", body: body, key: "not-a-keygate-key"), status: 401, code: "invalid_api_key")
            // Right shape, right lookup id, wrong secret.
            let forged = String(h.apiKey.dropLast(4)) + "AAAA"
            expectOpenAIError(try await h.request(.POST, "/v1/chat/completions", body: body, key: forged), status: 401, code: "invalid_api_key")
            expectOpenAIError(
                try await h.request(.GET, "/v1/models", key: "kg_000000000000_" + String(repeating: "a", count: 43)), status: 401,
                code: "invalid_api_key")

            #expect(try await h.chat("hi").status == 200)
            // The key's record is cached now; a wrong secret under its lookup id is still refused.
            expectOpenAIError(try await h.request(.POST, "/v1/chat/completions", body: body, key: forged), status: 401, code: "invalid_api_key")
            // The scheme is case-insensitive and spaces around the key do not matter; a bare scheme is no key.
            #expect(
                try await h.request(
                    .POST, "/v1/chat/completions", body: body, key: .some(nil),
                    headers: [("authorization", "bearer   \(h.apiKey) ")]
                ).status == 200)
            expectOpenAIError(
                try await h.request(.POST, "/v1/chat/completions", body: body, key: .some(nil), headers: [("authorization", "Bearer ")]),
                status: 401, code: "missing_api_key")
            // Revoked the way the CLI does it (the database, not this process): refused within the key cache's 1 s.
            try await AdminService(store: h.gateway.store).revokeAPIKey(organizationSlug: "acme", keyID: h.apiKeyID)
            try await Task.sleep(for: .milliseconds(1100))
            expectOpenAIError(try await h.chat("hi"), status: 401, code: "invalid_api_key")
            #expect(h.fake.requests.count == 2, "rejected requests never reach the provider")
        }
    }

    @Test func malformedRequestsAre400AndNameTheParameter() async throws {
        try await withHarness { h in
            expectOpenAIError(try await h.request(.POST, "/v1/chat/completions", body: "{\"model\": "), status: 400, code: "invalid_json")
            expectOpenAIError(
                try await h.request(.POST, "/v1/chat/completions", body: #"{"messages":[{"role":"user","content":"x"}]}"#),
                status: 400, code: "missing_required_parameter", param: "model")
            expectOpenAIError(
                try await h.request(.POST, "/v1/chat/completions", body: #"{"model":"gpt-5.6-luna","messages":{"role":"user"}}"#),
                status: 400, code: "invalid_type", param: "messages")
            expectOpenAIError(
                try await h.request(
                    .POST, "/v1/chat/completions", body: #"{"model":"gpt-5.6-luna","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#),
                status: 400, code: "invalid_type", param: "stream")
            // A repeated field could be read differently by the provider (first) than here (last): refused.
            expectOpenAIError(
                try await h.request(
                    .POST, "/v1/chat/completions",
                    body: #"{"model":"gpt-5.6-luna","messages":[{"role":"user","content":"x"}],"model":"gpt-5.6-sol"}"#),
                status: 400, code: "duplicate_field", param: "model")
            #expect(h.fake.requests.isEmpty)
            let records = try await h.usageRecords(atLeast: 5)
            #expect(records.allSatisfy { $0.status == 400 && $0.billing == nil && $0.costUSD == .zero })
        }
    }

    @Test func anUnknownModelIs404AndSaysHowToListModels() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hi", model: "gpt-imaginary")
            expectOpenAIError(reply, status: 404, code: "model_not_found", param: "model")
            #expect((reply.error?["message"] as? String)?.contains("/v1/models") == true)
            #expect(h.fake.requests.isEmpty)
        }
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        try await withHarness(environment: ["KEYGATE_MAX_BODY_BYTES": "2048"]) { h in
            let big = String(repeating: "x", count: 4096)
            expectOpenAIError(try await h.chat(big), status: 413, code: "request_too_large")
            let messages = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"\#(big)"}]}"#)
            #expect(messages.status == 413 && (messages.json?["error"] as? [String: Any])?["type"] as? String == "request_too_large")
            #expect(try await h.chat("small").status == 200)
            #expect(h.fake.requests.count == 1)
        }
    }

    @Test func upstreamRateLimitsArePassedOnWithRetryAfter() async throws {
        try await withHarness { h in
            let reply = try await h.chat("hi #fake status=429 retry_after=7")
            expectOpenAIError(reply, status: 429, code: "rate_limit_exceeded")
            #expect(reply.headers.first(name: "retry-after") == "7")
            let ms = try await h.chat("hi #fake status=429 retry_after_ms=1500")
            #expect(ms.status == 429)
            #expect(ms.headers.first(name: "retry-after") == "2", "milliseconds round up to whole seconds")
            let streamed = try await h.chat("hi #fake status=429 retry_after=3", stream: true)
            #expect(streamed.status == 429)
            #expect(streamed.headers.first(name: "retry-after") == "3")
        }
    }

    @Test func upstreamServerErrorsAre502() async throws {
        try await withHarness { h in
            for status in [500, 503, 529] {
                expectOpenAIError(try await h.chat("hi #fake status=\(status)"), status: 502, code: "upstream_error")
            }
            let record = try #require(try await h.usageRecords(atLeast: 3).first)
            #expect(record.status == 502 && record.errorCode == "upstream_error" && record.billing == .credits)
        }
    }

    @Test func anUnreachableProviderIs502() async throws {
        // A port nothing listens on.
        try await withHarness(environment: [
            "KEYGATE_PROVIDER_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "KEYGATE_PROVIDER_OPENAI_CONNECT_TIMEOUT": "0.5",
        ]) { h in
            expectOpenAIError(try await h.chat("hi"), status: 502, code: "upstream_error")
        }
    }

    @Test func timeoutsAre504() async throws {
        try await withHarness(environment: ["KEYGATE_PROVIDER_OPENAI_FIRST_BYTE_TIMEOUT": "0.3"]) { h in
            let reply = try await h.chat("hi #fake first_byte_delay_ms=3000")
            expectOpenAIError(reply, status: 504, code: "upstream_timeout")
            try await eventually { h.fake.disconnects == 1 }
        }
    }

    @Test func aRejectedPlatformKeyIs502AndNeverBlamesOrShowsTheKey() async throws {
        try await withHarness(fakeKey: "sk-the-real-platform-key") { h in
            let reply = try await h.chat("hi")
            expectOpenAIError(reply, status: 502, code: "upstream_auth_failed")
            #expect(!reply.text.contains(GatewayHarness.platformKey))
            #expect(!reply.text.contains("sk-platform"))
            #expect(reply.headers.first(name: "x-keygate-billing") == "credits")
            let streamed = try await h.chat("hi", stream: true)
            #expect(streamed.status == 502)
            #expect(!streamed.text.contains("sk-platform"))
        }
    }

    @Test func aProviderWithoutPlatformKeyIs503() async throws {
        try await withHarness(environment: ["KEYGATE_PROVIDER_XAI_BASE_URL": "http://127.0.0.1:9/v1"]) { h in
            expectOpenAIError(try await h.chat("hi", model: "xai/grok-4.5"), status: 503, code: "provider_not_configured")
        }
    }

    @Test func unknownRoutesAre404InTheOpenAIFormat() async throws {
        try await withHarness { h in
            let reply = try await h.request(.GET, "/v1/nothing-here")
            #expect(reply.status == 404)
            #expect(reply.error?["code"] as? String == "unknown_url")
        }
    }
}

@Suite struct ModelsAndHealthTests {
    @Test func modelsListsTheCatalogInTheOpenAIFormat() async throws {
        try await withHarness { h in
            let reply = try await h.request(.GET, "/v1/models")
            #expect(reply.status == 200)
            #expect(reply.json?["object"] as? String == "list")
            let data = try #require(reply.json?["data"] as? [[String: Any]])
            #expect(data.count == h.gateway.catalog.models.count)
            let luna = try #require(data.first { $0["id"] as? String == "openai/gpt-5.6-luna" })
            #expect(luna["object"] as? String == "model")
            #expect(luna["owned_by"] as? String == "openai")
            let pricing = (luna["keygate"] as? [String: Any])?["pricing_usd_per_million_tokens"] as? [String: Any]
            #expect(pricing?["input"] as? String == "0.2")
            #expect(reply.headers.first(name: "x-request-id") != nil)
            #expect(reply.headers.first(name: "x-keygate-billing") == "none")

            func route(_ id: String, in data: [[String: Any]]) -> (String?, Bool?) {
                let keygate = data.first { $0["id"] as? String == id }?["keygate"] as? [String: Any]
                return (keygate?["route"] as? String, keygate?["available"] as? Bool)
            }
            #expect(route("openai/gpt-5.6-luna", in: data) == ("credits", true))
            #expect(route("nvidia/meta/llama-3.1-8b-instruct", in: data) == ("free", true))
            #expect(route("xai/grok-4.5", in: data) == ("credits", false), "no platform key for xAI here")
            try await h.addBYOKKey("sk-org-key-for-models-123")
            let withKey = try await h.request(.GET, "/v1/models")
            #expect(route("openai/gpt-5.6-luna", in: withKey.json?["data"] as? [[String: Any]] ?? []) == ("byok", true))

            let one = try await h.request(.GET, "/v1/models/groq/openai/gpt-oss-120b")
            #expect(one.json?["id"] as? String == "groq/openai/gpt-oss-120b")
            #expect(try await h.request(.GET, "/v1/models/nope").status == 404)
        }
    }

    @Test func healthAndReadiness() async throws {
        try await withHarness { h in
            #expect(try await h.request(.GET, "/healthz", key: .some(nil)).status == 200)
            #expect(try await h.request(.GET, "/readyz", key: .some(nil)).status == 200)
            try await h.gateway.store.close()
            let notReady = try await h.request(.GET, "/readyz", key: .some(nil))
            #expect(notReady.status == 503)
            #expect(try await h.request(.GET, "/healthz", key: .some(nil)).status == 200)
        }
    }
}
