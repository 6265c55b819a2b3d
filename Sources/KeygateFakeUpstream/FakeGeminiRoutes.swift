import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Gemini on the same fake server: `POST /v1beta/models/{model}:generateContent` and
/// `:streamGenerateContent?alt=sse` (every event a partial response, no sentinel, EOF ends it), `GET
/// /v1beta/models`; `x-goog-api-key` checked, a bad key refused with 400 `API_KEY_INVALID` like the real API.
extension FakeProvider {
    func addGeminiRoutes(to router: Router<FakeContext>) {
        router.get("/v1beta/models") { request, context in
            self.record(request, body: [])
            if let denied = self.denyGemini(request) { return denied }
            return Self.json(.ok, ["models": [["name": "models/gemini-fake"]]])
        }
        router.post("/v1beta/models/:action") { request, context in
            try await self.generate(request, context: context)
        }
    }

    private func denyGemini(_ request: Request) -> Response? {
        guard !isAccepted(request.headers[HTTPField.Name("x-goog-api-key")!] ?? "") else { return nil }
        return Self.json(
            .badRequest,
            [
                "error": [
                    "code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                    "details": [["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"]],
                ]
            ])
    }

    private func generate(_ request: Request, context: FakeContext) async throws -> Response {
        let raw = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(raw.readableBytesView)
        record(request, body: bytes)
        if let denied = denyGemini(request) { return denied }
        let action = context.parameters.get("action") ?? ""
        let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        let parts = ((body?["contents"] as? [[String: Any]])?.last?["parts"] as? [[String: Any]]) ?? []
        let text = parts.compactMap { $0["text"] as? String }.joined(separator: " ")
        let directive = Directive(body: ["messages": [["role": "user", "content": text]]])
        if let status = directive.status {
            var response = Self.json(
                HTTPResponse.Status(code: status),
                ["error": ["code": status, "message": "fake failure \(status)", "status": status == 429 ? "RESOURCE_EXHAUSTED" : "INTERNAL"]])
            if let retry = directive.retryAfter { response.headers[HTTPField.Name("retry-after")!] = retry }
            return response
        }
        let usage: [String: Any] = [
            "promptTokenCount": directive.promptTokens, "cachedContentTokenCount": directive.cachedTokens,
            "candidatesTokenCount": directive.chunks, "totalTokenCount": directive.promptTokens + directive.chunks,
        ]
        if !action.hasSuffix(":streamGenerateContent") {
            return Self.json(
                .ok,
                [
                    "candidates": [["content": ["role": "model", "parts": [["text": directive.text]]], "finishReason": "STOP", "index": 0]],
                    "usageMetadata": usage, "modelVersion": "gemini-fake", "responseId": "resp_fake",
                ])
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                func event(_ object: [String: Any]) -> ByteBuffer {
                    ByteBuffer(
                        bytes: Array("data: ".utf8) + Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) + Array("\r\n\r\n".utf8))
                }
                for index in 0..<directive.chunks {
                    if directive.delayMs > 0 { try await Task.sleep(for: .milliseconds(directive.delayMs)) }
                    if let cut = directive.cutAfter, index >= cut {
                        try await cutConnection(context.channel)
                        return
                    }
                    var chunk: [String: Any] = [
                        "candidates": [["content": ["role": "model", "parts": [["text": "w\(index) "]]], "index": 0]],
                        "modelVersion": "gemini-fake", "responseId": "resp_fake",
                    ]
                    if index == directive.chunks - 1 {
                        chunk["candidates"] = [
                            ["content": ["role": "model", "parts": [["text": "w\(index) "]]], "finishReason": "STOP", "index": 0]
                        ]
                        chunk["usageMetadata"] = [
                            "promptTokenCount": directive.promptTokens, "cachedContentTokenCount": directive.cachedTokens,
                            "candidatesTokenCount": directive.chunks, "totalTokenCount": directive.promptTokens + directive.chunks,
                        ]
                    }
                    try await writer.write(event(chunk))
                }
                try await writer.finish(nil)
            })
    }
}
