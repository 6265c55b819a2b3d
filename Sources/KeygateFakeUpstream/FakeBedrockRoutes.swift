import Foundation
import HTTPTypes
import Hummingbird
import KeygateProviders
import NIOCore

/// Bedrock Converse on the same fake server: `POST /model/{id}/converse` and `/converse-stream` (binary
/// event-stream frames). The SigV4 `Authorization` is recomputed from what arrived, with the secret the test
/// registered for the access key id, and must match.
extension FakeProvider {
    func addBedrockRoutes(to router: Router<FakeContext>) {
        router.post("/model/:model/converse") { request, context in try await self.converse(request, context: context, stream: false) }
        router.post("/model/:model/converse-stream") { request, context in try await self.converse(request, context: context, stream: true) }
    }

    /// Checks the request's SigV4 signature against the registered secret of its access key id.
    func verifySigV4(_ request: Request, body: [UInt8]) -> Bool {
        let authorization = request.headers[.authorization] ?? ""
        let keyID = authorization.components(separatedBy: "Credential=").dropFirst().first?.split(separator: "/").first.map(String.init) ?? ""
        guard let secret = awsSecret(for: keyID), let amzDate = request.headers[HTTPField.Name("x-amz-date")!],
            let region = authorization.components(separatedBy: "/").dropFirst(2).first,
            let date = Self.parseAmzDate(amzDate), let host = request.head.authority,
            let url = URL(string: "http://\(host)\(request.uri.path)")
        else { return false }
        let signer = SigV4Signer(
            accessKeyID: keyID, secretAccessKey: secret, sessionToken: request.headers[HTTPField.Name("x-amz-security-token")!],
            region: String(region), service: "bedrock")
        let expected = signer.sign(method: "POST", url: url, headers: [("content-type", request.headers[.contentType] ?? "")], body: body, date: date)
        return expected.first { $0.name == "authorization" }?.value == authorization
    }

    static func parseAmzDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }

    private func converse(_ request: Request, context: FakeContext, stream: Bool) async throws -> Response {
        let raw = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(raw.readableBytesView)
        record(request, body: bytes)
        guard verifySigV4(request, body: bytes) else {
            return Self.json(.forbidden, ["message": "The request signature we calculated does not match the signature you provided."])
        }
        let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        let content = ((body?["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]]) ?? []
        let text = content.compactMap { $0["text"] as? String }.joined(separator: " ")
        let directive = Directive(body: ["messages": [["role": "user", "content": text]]])
        if let status = directive.status {
            return Self.json(HTTPResponse.Status(code: status), ["message": "fake failure \(status)"])
        }
        let usage: [String: Any] = [
            "inputTokens": directive.promptTokens - directive.cachedTokens, "cacheReadInputTokens": directive.cachedTokens,
            "outputTokens": directive.chunks, "totalTokens": directive.promptTokens + directive.chunks,
        ]
        guard stream else {
            return Self.json(
                .ok,
                [
                    "output": ["message": ["role": "assistant", "content": [["text": directive.text]]]], "stopReason": "end_turn",
                    "usage": usage, "metrics": ["latencyMs": 1],
                ])
        }
        let corrupt = text.contains("corrupt")
        return Response(
            status: .ok, headers: [.contentType: "application/vnd.amazon.eventstream"],
            body: ResponseBody { writer in
                func frame(_ type: String, _ object: [String: Any]) -> ByteBuffer {
                    let payload = Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
                    return ByteBuffer(
                        bytes: EventStreamEncoder.encode(
                            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")], payload: payload))
                }
                try await writer.write(frame("messageStart", ["role": "assistant"]))
                for index in 0..<directive.chunks {
                    if let cut = directive.cutAfter, index >= cut {
                        try await cutConnection(context.channel)
                        return
                    }
                    var delta = frame("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "w\(index) "]])
                    if corrupt && index == 1, let last = delta.getInteger(at: delta.writerIndex - 1, as: UInt8.self) {
                        delta.setInteger(last ^ 0xFF, at: delta.writerIndex - 1)
                    }
                    try await writer.write(delta)
                }
                try await writer.write(frame("contentBlockStop", ["contentBlockIndex": 0]))
                try await writer.write(frame("messageStop", ["stopReason": "end_turn"]))
                try await writer.write(
                    frame(
                        "metadata",
                        [
                            "usage": [
                                "inputTokens": directive.promptTokens - directive.cachedTokens,
                                "cacheReadInputTokens": directive.cachedTokens, "outputTokens": directive.chunks,
                                "totalTokens": directive.promptTokens + directive.chunks,
                            ], "metrics": ["latencyMs": 1],
                        ]))
                try await writer.finish(nil)
            })
    }
}
