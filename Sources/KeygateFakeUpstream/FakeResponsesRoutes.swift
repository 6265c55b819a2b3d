import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// OpenAI Responses on the same fake server: `POST /v1/responses`, JSON or SSE (`event:` + `data:`, no
/// sentinel, `response.completed` last).
extension FakeProvider {
    func addResponsesRoutes(to router: Router<FakeContext>) {
        router.post("/openai/v1/responses") { request, context in try await self.responses(request) }
        router.post("/v1/responses") { request, context in try await self.responses(request) }
    }

    private func responses(_ request: Request) async throws -> Response {
        let raw = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(raw.readableBytesView)
        self.record(request, body: bytes)
        if let denied = self.deny(request) { return denied }
        let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        let last = (body?["input"] as? [[String: Any]])?.last
        let text = ((last?["content"] as? [[String: Any]])?.compactMap { $0["text"] as? String }.joined(separator: " ")) ?? ""
        let directive = Directive(body: ["messages": [["role": "user", "content": text]]])
        let usage: [String: Any] = [
            "input_tokens": directive.promptTokens, "input_tokens_details": ["cached_tokens": directive.cachedTokens],
            "output_tokens": directive.chunks, "output_tokens_details": ["reasoning_tokens": directive.reasoningTokens],
            "total_tokens": directive.promptTokens + directive.chunks,
        ]
        let model = body?["model"] as? String ?? "fake"
        let response: [String: Any] = [
            "id": "resp_fake", "object": "response", "created_at": 1_700_000_000, "status": "completed", "model": model,
            "output": [["type": "message", "role": "assistant", "content": [["type": "output_text", "text": directive.text, "annotations": []]]]],
            "usage": usage,
        ]
        guard body?["stream"] as? Bool == true else { return Self.json(.ok, response) }
        let completedEvent = (try? JSONSerialization.data(withJSONObject: ["type": "response.completed", "response": response])) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                func event(_ type: String, _ object: [String: Any]) -> ByteBuffer {
                    var object = object
                    object["type"] = type
                    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
                    return ByteBuffer(bytes: Array("event: \(type)\ndata: ".utf8) + Array(data) + Array("\n\n".utf8))
                }
                try await writer.write(event("response.created", ["response": ["id": "resp_fake", "model": model, "status": "in_progress"]]))
                for index in 0..<directive.chunks {
                    try await writer.write(event("response.output_text.delta", ["output_index": 0, "content_index": 0, "delta": "w\(index) "]))
                }
                try await writer.write(
                    ByteBuffer(bytes: Array("event: response.completed\ndata: ".utf8) + Array(completedEvent) + Array("\n\n".utf8)))
                try await writer.finish(nil)
            })
    }
}
