import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateProviders
import KeygateStore
import NIOCore
import NIOHTTP1
import Synchronization

/// `POST /v1/messages`: the Anthropic-native endpoint for Anthropic SDK users. Requests for Anthropic models
/// pass through (the body as sent, the model id resolved), on the organisation's own key or the platform's,
/// billed exactly like `/v1/chat/completions`; errors come back in Anthropic's format.
struct MessagesRoute: Sendable {
    let gateway: Gateway

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await withUsageRecord(gateway: gateway, context: context) { usage in
            try await proxy(request, context: context, usage: &usage)
        }
    }

    private func proxy(_ request: Request, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let bytes = try await request.collectAPIBody(limit: gateway.configuration.maxBodyBytes)
        let json: JSONValue
        do { json = try JSONValue.decode(bytes) } catch { throw GatewayError.invalidJSON("it could not be parsed") }
        guard case .object(let fields) = json else { throw GatewayError.invalidJSON("expected an object") }
        if let repeated = fields.firstRepeatedKey { throw GatewayError.duplicateField(repeated) }  // as in ChatCompletionRequest
        guard let model = json["model"]?.stringValue, !model.isEmpty else { throw GatewayError.missingField("model", expected: "a model id such as claude-haiku-4-5") }
        guard let messages = json["messages"]?.arrayValue, !messages.isEmpty else { throw GatewayError.missingField("messages", expected: "a non-empty array of messages") }
        guard let maxTokens = json["max_tokens"]?.int64Value, maxTokens >= 1 else {
            throw GatewayError.missingField("max_tokens", expected: "a positive integer (required by the Messages API)")
        }
        let stream = json["stream"]?.boolValue ?? false
        usage.model = model
        usage.stream = stream
        usage.promptBytes = bytes.count

        let forced = request.headers[.byokProvider]
        let resolved = try gateway.resolve(model: model, forcedProvider: forced)
        guard resolved.provider.wireFormat == .anthropicMessages else {
            return try await translated(json, model: model, forced: forced, context: context, usage: &usage)
        }
        let caller = usage.caller
        let byokKey = try await gateway.byokKeys.key(organizationID: caller.organization.id, provider: resolved.provider.id)
        if forced != nil && byokKey == nil { throw GatewayError.byokKeyRequired(provider: resolved.provider.id, organization: caller.organization.slug) }
        let route = RouteDecision.decide(for: resolved, organizationHasKey: byokKey != nil)
        usage.route(route, byokKeyID: byokKey?.id)
        let credential: String
        if let byokKey {
            credential = byokKey.secret
        } else {
            guard resolved.isCatalogued else { throw GatewayError.modelNotFound(model) }
            guard let platformKey = gateway.configuration.platformKeys[resolved.provider.id] else { throw GatewayError.providerNotConfigured(provider: resolved.provider.id) }
            credential = platformKey
        }
        if route.billing == .credits {
            let estimate = CreditEstimate.make(promptBytes: bytes.count, maxOutputTokens: maxTokens, model: resolved.model, policy: gateway.credits.policy)
            try await gateway.credits.reserve(requestID: usage.requestID, organization: caller.organization, estimate: estimate, provider: resolved.provider.id)
        }
        do {
            return try await exchange(json, request: request, resolved: resolved, route: route, byokKey: byokKey, credential: credential,
                                      stream: stream, context: context, usage: &usage)
        } catch {
            if route.billing == .credits {
                await gateway.credits.release(requestID: usage.requestID, reason: (error as? GatewayError)?.code ?? "failed", logger: context.logger)
            }
            throw error
        }
    }

    /// Another provider's model: the request becomes a chat completion, which runs the usual way, and its
    /// answer (or stream) is turned back into Anthropic's format on the way out.
    private func translated(_ json: JSONValue, model: String, forced: String?, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let chat = try ChatCompletionRequest.parse(AnthropicInbound.chatBody(from: json).encoded())
        let response = try await ChatCompletionsRoute(gateway: gateway).run(chat, forcedProvider: forced, context: context, usage: &usage)
        var headers = response.headers
        let streaming = headers[.contentType] == "text/event-stream"
        headers[.contentLength] = nil
        if streaming {
            let writer = Mutex(AnthropicEventWriter(model: model))
            return Response(status: response.status, headers: headers, body: response.body.map { buffer in
                ByteBuffer(bytes: writer.withLock { $0.translate(Array(buffer.readableBytesView)) })
            })
        }
        return Response(status: response.status, headers: headers, body: response.body.map { buffer in
            ByteBuffer(bytes: AnthropicInbound.message(fromChatCompletion: Array(buffer.readableBytesView), model: model))
        })
    }

    private func exchange(_ json: JSONValue, request: Request, resolved: ResolvedModel, route: RouteDecision, byokKey: UsableBYOKKey?,
                          credential: String, stream: Bool, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        var body = json
        body["model"] = .string(resolved.model.id)
        var base = resolved.provider.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var outgoing = HTTPClientRequest(url: base + "/v1/messages")
        outgoing.method = .POST
        outgoing.headers.add(name: "x-api-key", value: credential)
        outgoing.headers.add(name: "anthropic-version", value: request.headers[HTTPField.Name("anthropic-version")!] ?? AnthropicAdapter.apiVersion)
        if let beta = request.headers[HTTPField.Name("anthropic-beta")!] { outgoing.headers.add(name: "anthropic-beta", value: beta) }
        outgoing.headers.add(name: "content-type", value: "application/json")
        outgoing.body = .bytes(ByteBuffer(bytes: body.encoded()))

        let timeouts = gateway.configuration.timeouts(for: resolved.provider.id)
        let client = gateway.upstream.client(for: resolved.provider.id)
        let watchdog = UpstreamWatchdog(channel: context.channel, idleTimeout: timeouts.idle)
        let answer = try await ChatCompletionsRoute.fetch(outgoing, client: client, firstByte: timeouts.firstByte, stream: stream,
                                                          watchdog: watchdog, provider: resolved.provider.id)

        var headers: HTTPFields = [.keygateBilling: route.billing.rawValue, .keygateProvider: resolved.provider.id]
        if let byokKey { headers[.keygateBYOKKey] = byokKey.preview }
        let adapter = AnthropicAdapter()
        switch answer {
        case .stream(let response):
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let draft = usage
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                await ChatCompletionsRoute.relayStream(response, relay: adapter.makePassthroughRelay(), watchdog: watchdog,
                                                       provider: resolved.provider.id, usage: draft, anthropicEvents: true, writer: &writer)
            })
        case .complete(let status, let upstreamHeaders, let body) where !(200..<300).contains(status):
            if let byokKey, status == 401 || status == 403 {
                await BYOKService(gateway: gateway).markRejected(organizationID: usage.caller.organization.id, key: byokKey, status: status)
                throw GatewayError.byokKeyRejected(provider: resolved.provider.id, preview: byokKey.preview, status: status)
            }
            let failure = UpstreamFailure(status: status, body: Array(body.readableBytesView), retryAfter: ChatCompletionsRoute.retryAfter(upstreamHeaders))
            throw adapter.error(for: failure, provider: resolved.provider, credential: credential)
        case .complete(let status, _, let body):
            let tokens = AnthropicAdapter.usage(fromMessage: Array(body.readableBytesView))
                ?? TokenUsage(inputTokens: TokenEstimator.tokens(forBytes: usage.promptBytes), outputTokens: TokenEstimator.tokens(forBytes: body.readableBytes), estimated: true)
            headers[.contentType] = "application/json"
            let charged = await usage.settleAndRecord(status: status, errorCode: nil, tokens: tokens, producedOutput: true)
            headers[.keygateCreditsCharged] = charged.description
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
        }
    }
}
