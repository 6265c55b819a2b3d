import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateProviders
import NIOCore
import Synchronization

/// `POST /v1/messages`: the Anthropic-native endpoint for Anthropic SDK users. Requests for Anthropic models
/// pass through (the body as sent, the model id resolved); any other model's request becomes a chat
/// completion whose answer is turned back into Anthropic's format. Both run through the call pipeline, so they
/// are routed and billed exactly like `/v1/chat/completions`; errors come back in Anthropic's format.
struct MessagesRoute: Sendable {
    let pipeline: CallPipeline
    let maxBodyBytes: Int

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await pipeline.withUsageRecord(context: context, jobID: request.headers[.keygateJob]) { usage in
            let body = try AnthropicMessagesBody(
                parsing: try await request.collectAPIBody(limit: maxBodyBytes), version: request.headers[.anthropicVersion],
                beta: request.headers[.anthropicBeta])
            let forced = request.headers[.byokProvider]
            let resolved = try pipeline.resolve(.anthropicMessages(body), forcedProvider: forced, usage: &usage)
            guard resolved.provider.wireFormat == .anthropicMessages else {
                let chat = try ChatCompletionRequest.parse(AnthropicInbound.chatBody(from: body.json).encoded())
                let response = try await pipeline.run(.chat(chat), resolved: resolved, forced: forced != nil, context: context, usage: &usage)
                return Self.anthropicAnswer(from: response, model: body.model)
            }
            return try await pipeline.run(.anthropicMessages(body), resolved: resolved, forced: forced != nil, context: context, usage: &usage)
        }
    }

    /// A chat completion's answer (or stream) in Anthropic's format.
    private static func anthropicAnswer(from response: Response, model: String) -> Response {
        var headers = response.headers
        let streaming = headers[.contentType] == "text/event-stream"
        headers[.contentLength] = nil
        if streaming {
            let writer = Mutex(AnthropicEventWriter(model: model))
            return Response(
                status: response.status, headers: headers,
                body: response.body.map { buffer in
                    ByteBuffer(bytes: writer.withLock { $0.translate(Array(buffer.readableBytesView)) })
                })
        }
        return Response(
            status: response.status, headers: headers,
            body: response.body.map { buffer in
                ByteBuffer(bytes: AnthropicInbound.message(fromChatCompletion: Array(buffer.readableBytesView), model: model))
            })
    }
}

extension HTTPField.Name {
    static let anthropicVersion = HTTPField.Name("anthropic-version")!
    static let anthropicBeta = HTTPField.Name("anthropic-beta")!
}
