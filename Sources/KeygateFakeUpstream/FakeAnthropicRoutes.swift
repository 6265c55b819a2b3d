import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Anthropic Messages on the same fake server: `POST /v1/messages` (JSON or SSE with `event:` names), the
/// `x-api-key` + `anthropic-version` headers checked, errors in Anthropic's own body format. The same
/// `#fake` directives apply (chunks, delay_ms, cut_after, status, retry_after, prompt_tokens, cached_tokens).
extension FakeProvider {
    func addAnthropicRoutes(to router: Router<FakeContext>) {
        router.post("/v1/messages") { request, context in
            try await self.messages(request, context: context)
        }
    }

    private func messages(_ request: Request, context: FakeContext) async throws -> Response {
        let raw = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(raw.readableBytesView)
        record(request, body: bytes)
        let key = request.headers[HTTPField.Name("x-api-key")!] ?? ""
        guard request.headers[HTTPField.Name("anthropic-version")!] != nil, isAccepted(key) else {
            return Self.json(.unauthorized, ["type": "error", "error": ["type": "authentication_error", "message": "invalid x-api-key"]])
        }
        let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        // Directives live in the last user turn's text, whether a string or text blocks.
        let last = (body?["messages"] as? [[String: Any]])?.last
        let text =
            (last?["content"] as? String)
            ?? ((last?["content"] as? [[String: Any]])?.compactMap { $0["text"] as? String }.joined(separator: " ") ?? "")
        let directive = Directive(body: ["messages": [["role": "user", "content": text]]])
        if let status = directive.status, directive.onlyKey.map({ key == $0 }) ?? true {
            var response = Self.json(
                HTTPResponse.Status(code: status),
                [
                    "type": "error",
                    "error": [
                        "type": status == 529 ? "overloaded_error" : status == 429 ? "rate_limit_error" : "api_error",
                        "message": "fake failure \(status)",
                    ],
                ])
            if let retry = directive.retryAfter { response.headers[HTTPField.Name("retry-after")!] = retry }
            return response
        }
        let model = body?["model"] as? String ?? "claude-fake"
        let usage: [String: Any] = [
            "input_tokens": directive.promptTokens - directive.cachedTokens, "cache_read_input_tokens": directive.cachedTokens,
            "cache_creation_input_tokens": 0, "output_tokens": directive.chunks,
        ]
        let id = "msg_fake\(Int.random(in: 100000...999999))"
        guard body?["stream"] as? Bool == true else {
            return Self.json(
                .ok,
                [
                    "id": id, "type": "message", "role": "assistant", "model": model,
                    "content": [["type": "text", "text": directive.text]], "stop_reason": "end_turn", "stop_sequence": NSNull(), "usage": usage,
                ])
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                func event(_ name: String, _ object: [String: Any]) -> ByteBuffer {
                    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
                    return ByteBuffer(bytes: Array("event: \(name)\ndata: ".utf8) + Array(data) + Array("\n\n".utf8))
                }
                let start: [String: Any] = [
                    "input_tokens": directive.promptTokens - directive.cachedTokens,
                    "cache_read_input_tokens": directive.cachedTokens, "cache_creation_input_tokens": 0, "output_tokens": 1,
                ]
                try await writer.write(
                    event(
                        "message_start",
                        [
                            "type": "message_start",
                            "message": [
                                "id": id, "type": "message", "role": "assistant",
                                "model": model, "content": [], "usage": start,
                            ],
                        ]))
                try await writer.write(
                    event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]]))
                for index in 0..<directive.chunks {
                    if directive.delayMs > 0 { try await Task.sleep(for: .milliseconds(directive.delayMs)) }
                    if let cut = directive.cutAfter, index >= cut {
                        try await cutConnection(context.channel)
                        return
                    }
                    try await writer.write(
                        event(
                            "content_block_delta",
                            [
                                "type": "content_block_delta", "index": 0,
                                "delta": ["type": "text_delta", "text": "w\(index) "],
                            ]))
                }
                try await writer.write(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
                try await writer.write(
                    event(
                        "message_delta",
                        [
                            "type": "message_delta", "delta": ["stop_reason": "end_turn", "stop_sequence": NSNull()],
                            "usage": ["output_tokens": directive.chunks],
                        ]))
                try await writer.write(event("message_stop", ["type": "message_stop"]))
                try await writer.finish(nil)
            })
    }
}
