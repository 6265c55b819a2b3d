import Hummingbird
import KeygateCore

/// `POST /v1/chat/completions`: parses the body and hands it to the call pipeline, which routes, calls the
/// provider, relays the answer and records usage (exactly one record per authenticated request).
struct ChatCompletionsRoute: Sendable {
    let pipeline: CallPipeline
    let maxBodyBytes: Int

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await pipeline.withUsageRecord(context: context, jobID: request.headers[.keygateJob]) { usage in
            let chat = try ChatCompletionRequest.parse(try await request.collectAPIBody(limit: maxBodyBytes))
            let forced = request.headers[.byokProvider]
            let resolved = try pipeline.resolve(.chat(chat), forcedProvider: forced, usage: &usage)
            return try await pipeline.run(.chat(chat), resolved: resolved, forced: forced != nil, context: context, usage: &usage)
        }
    }
}
