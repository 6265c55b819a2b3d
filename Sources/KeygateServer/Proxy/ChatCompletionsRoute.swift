import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateProviders
import KeygateStore
import NIOCore
import NIOHTTP1

/// `POST /v1/chat/completions`: validate, route, call the provider, relay the answer, record usage.
///
/// A streamed answer is relayed chunk by chunk as it arrives; only a partial SSE event at the end of a chunk
/// is held back. Whatever happens (success, provider error, timeout, client gone), exactly one usage record
/// is written for an authenticated request.
struct ChatCompletionsRoute: Sendable {
    let gateway: Gateway

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await withUsageRecord(gateway: gateway, context: context) { usage in
            try await proxy(request, context: context, usage: &usage)
        }
    }

    private func proxy(_ request: Request, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let chat = try ChatCompletionRequest.parse(try await request.collectAPIBody(limit: gateway.configuration.maxBodyBytes))
        return try await run(chat, forcedProvider: request.headers[.byokProvider], context: context, usage: &usage)
    }

    /// Routes and runs a parsed chat request; the answer is in the OpenAI format (JSON or SSE).
    func run(_ chat: ChatCompletionRequest, forcedProvider: String?, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        usage.model = chat.model
        usage.stream = chat.stream
        usage.promptBytes = chat.byteCount

        // Which provider: the one the caller forces (`x-byok-provider`), else the catalog's for the model.
        let resolved = try gateway.resolve(model: chat.model, forcedProvider: forcedProvider)
        // Who pays: the organisation's own key for that provider, else the platform (SPEC §4).
        let caller = usage.caller
        let byokKey = try await gateway.byokKeys.key(organizationID: caller.organization.id, provider: resolved.provider.id)
        if forcedProvider != nil && byokKey == nil {
            throw GatewayError.byokKeyRequired(provider: resolved.provider.id, organization: caller.organization.slug)
        }
        let adapter = WireAdapters.adapter(for: resolved.provider.wireFormat)
        let route = RouteDecision.decide(for: resolved, organizationHasKey: byokKey != nil)
        do {
            return try await attempt(chat, route: route, byokKey: byokKey, adapter: adapter, context: context, usage: &usage)
        } catch let error as GatewayError where route.billing == .byok && error.statusCode == 429 {
            // The organisation's own key is rate limited: retry once on the platform key if it opted in.
            guard try await gateway.store.organizationSettings(organizationID: caller.organization.id).byokFallbackOnRateLimit else { throw error }
            context.logger.info("BYOK key rate limited: falling back to credits", metadata: ["provider": "\(resolved.provider.id)"])
            let fallback = RouteDecision.decide(for: resolved, organizationHasKey: false)
            return try await attempt(chat, route: fallback, byokKey: nil, adapter: adapter, context: context, usage: &usage)
        }
    }

    /// One call to the provider on the route's credential, its answer relayed or mapped to an error.
    private func attempt(_ chat: ChatCompletionRequest, route: RouteDecision, byokKey: UsableBYOKKey?, adapter: any WireAdapter,
                         context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let resolved = route.resolved
        usage.route(route, byokKeyID: byokKey?.id)
        let credential: String
        if let byokKey {
            credential = byokKey.secret
        } else {
            guard resolved.isCatalogued else { throw GatewayError.modelNotFound(chat.model) }
            guard let platformKey = gateway.configuration.platformKeys[resolved.provider.id] else {
                throw GatewayError.providerNotConfigured(provider: resolved.provider.id)
            }
            credential = platformKey
        }
        if route.billing == .credits {
            let estimate = CreditEstimate.make(for: chat, model: resolved.model, policy: gateway.credits.policy)
            try await gateway.credits.reserve(requestID: usage.requestID, organization: usage.caller.organization, estimate: estimate,
                                              provider: resolved.provider.id)
        }
        do {
            return try await exchange(chat, route: route, byokKey: byokKey, adapter: adapter, credential: credential, context: context, usage: &usage)
        } catch {
            // Nothing was produced: the whole reservation goes back.
            if route.billing == .credits {
                await gateway.credits.release(requestID: usage.requestID, reason: (error as? GatewayError)?.code ?? "failed", logger: context.logger)
            }
            throw error
        }
    }

    /// The call itself, once the credential is chosen and any credits are reserved.
    private func exchange(_ chat: ChatCompletionRequest, route: RouteDecision, byokKey: UsableBYOKKey?, adapter: any WireAdapter, credential: String,
                          context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let resolved = route.resolved
        let upstreamRequest = try adapter.makeRequest(chat, for: resolved, credential: credential)
        let timeouts = gateway.configuration.timeouts(for: resolved.provider.id)
        let client = gateway.upstream.client(for: resolved.provider.id)
        let watchdog = UpstreamWatchdog(channel: context.channel, idleTimeout: timeouts.idle)

        var outgoing = HTTPClientRequest(url: upstreamRequest.url)
        outgoing.method = .init(rawValue: upstreamRequest.method)
        for header in upstreamRequest.headers { outgoing.headers.add(name: header.name, value: header.value) }
        outgoing.body = .bytes(ByteBuffer(bytes: upstreamRequest.body))

        let answer = try await Self.fetch(outgoing, client: client, firstByte: timeouts.firstByte, stream: chat.stream,
                                          watchdog: watchdog, provider: resolved.provider.id)

        var headers: HTTPFields = [.keygateBilling: route.billing.rawValue, .keygateProvider: resolved.provider.id]
        if let byokKey { headers[.keygateBYOKKey] = byokKey.preview }
        switch answer {
        case .stream(let response):
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let relay = adapter.makeStreamRelay(clientWantsUsage: chat.clientWantsStreamUsage)
            let draft = usage
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                await Self.relayStream(response, relay: relay, watchdog: watchdog, provider: resolved.provider.id,
                                       usage: draft, writer: &writer)
            })

        case .complete(let status, let upstreamHeaders, let body) where !(200..<300).contains(status):
            let failure = UpstreamFailure(status: status, body: Array(body.readableBytesView), retryAfter: Self.retryAfter(upstreamHeaders))
            if let byokKey, adapter.isCredentialRejection(failure) {
                await BYOKService(gateway: gateway).markRejected(organizationID: usage.caller.organization.id, key: byokKey, status: status)
                throw GatewayError.byokKeyRejected(provider: resolved.provider.id, preview: byokKey.preview, status: status)
            }
            throw adapter.error(for: failure, provider: resolved.provider, credential: credential)

        case .complete(let status, _, let body):
            let (translated, reported) = adapter.response(fromBody: Array(body.readableBytesView), model: resolved.model.id)
            let out = translated.map { ByteBuffer(bytes: $0) } ?? body
            let tokens = reported
                ?? TokenUsage(inputTokens: TokenEstimator.tokens(forBytes: chat.byteCount),
                              outputTokens: TokenEstimator.tokens(forBytes: out.readableBytes), estimated: true)
            headers[.contentType] = "application/json"
            // The provider has done (and billed) the work: it is settled and recorded whether or not the client reads it.
            let charged = await usage.settleAndRecord(status: status, errorCode: nil, tokens: tokens, producedOutput: true)
            headers[.keygateCreditsCharged] = charged.description
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: out))
        }
    }

    /// One watched exchange: the head, then (unless it is a 2xx stream to relay) the whole body. Transport
    /// failures come back as the caller's 502/504.
    static func fetch(_ outgoing: HTTPClientRequest, client: HTTPClient, firstByte: Duration, stream: Bool,
                      watchdog: UpstreamWatchdog, provider: String) async throws -> UpstreamAnswer {
        do {
            return try await watchdog.run {
                let response = try await client.execute(outgoing, deadline: .now() + TimeAmount(firstByte))
                let success = (200..<300).contains(response.status.code)
                if stream && success { return .stream(response) }
                watchdog.activity.touch()
                let body = try await collect(response.body, limit: success ? 256 << 20 : 1 << 20, activity: watchdog.activity)
                return .complete(status: Int(response.status.code), headers: response.headers, body: body)
            }
        } catch {
            let phase = watchdog.activity.idleFor == nil ? "waiting for the first byte" : "reading the response"
            throw transportError(error, provider: provider, phase: phase)
        }
    }

    /// What a watched upstream exchange produced.
    enum UpstreamAnswer: Sendable {
        /// A 2xx streamed answer: the head is in, the body is still to relay.
        case stream(HTTPClientResponse)
        /// A whole answer (any status).
        case complete(status: Int, headers: HTTPHeaders, body: ByteBuffer)
    }

    /// Relays an upstream SSE body to the client. Never throws: every ending is turned into a usage record,
    /// and an ending the client can still hear about (provider cut the stream, went silent) into an SSE error
    /// event, so a truncated answer is never mistaken for a complete one.
    static func relayStream(_ response: HTTPClientResponse, relay: any StreamRelay, watchdog: UpstreamWatchdog, provider: String,
                            usage: UsageDraft, anthropicEvents: Bool = false, writer: inout any ResponseBodyWriter) async {
        var relay = relay
        var firstChunkAt: ContinuousClock.Instant?
        var failure: GatewayError?
        var clientGone = false
        do {
            try await watchdog.run {
                for try await chunk in response.body {
                    watchdog.activity.touch()
                    if firstChunkAt == nil { firstChunkAt = .now }
                    let out: ByteBuffer?
                    if let bytes = relay.relay(Array(chunk.readableBytesView)) {
                        out = bytes.isEmpty ? nil : ByteBuffer(bytes: bytes)
                    } else {
                        out = chunk
                    }
                    if let out {
                        do { try await writer.write(out) } catch { throw WatchdogStop.clientDisconnected }
                    }
                }
            }
            let tail = relay.finish()
            if !tail.isEmpty { try await writer.write(ByteBuffer(bytes: tail)) }
            if !relay.completed { failure = .upstreamStreamCut(provider: provider) }
        } catch WatchdogStop.clientDisconnected {
            clientGone = true
        } catch {
            // Once the stream has begun, any upstream failure other than silence is a cut stream.
            failure = (error as? WatchdogStop) == .idleTimeout
                ? .upstreamTimeout(provider: provider, phase: "no data between stream chunks")
                : .upstreamStreamCut(provider: provider)
        }
        if let failure, !clientGone {
            let event = anthropicEvents ? Array("event: error\ndata: ".utf8) + failure.anthropicBodyBytes + Array("\n\n".utf8) : failure.sseEventBytes
            do { try await writer.write(ByteBuffer(bytes: event)) } catch { clientGone = true }
        }
        let tokens = relay.usage ?? TokenUsage(
            inputTokens: TokenEstimator.tokens(forBytes: usage.promptBytes),
            outputTokens: TokenEstimator.tokens(forBytes: relay.generatedTextBytes), estimated: true)
        let ttft = firstChunkAt.map { $0 - usage.startedAt }
        // Whatever was produced is charged (reported usage, else the flagged estimate); nothing produced, nothing
        // charged. Settled before the response ends: a client that saw the whole answer was charged for it, even
        // if this process dies right after.
        _ = await usage.settleAndRecord(status: 200, errorCode: clientGone ? "client_disconnected" : failure?.code, tokens: tokens,
                                        producedOutput: relay.usage != nil || relay.generatedTextBytes > 0, timeToFirstToken: ttft)
        if !clientGone {
            try? await writer.finish(nil)
        }
    }

    static func collect(_ body: HTTPClientResponse.Body, limit: Int, activity: ActivityClock) async throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for try await chunk in body {
            activity.touch()
            guard buffer.readableBytes + chunk.readableBytes <= limit else { throw HTTPClientError.bodyLengthMismatch }
            var chunk = chunk
            buffer.writeBuffer(&chunk)
        }
        return buffer
    }

    /// `retry-after` as sent, or `retry-after-ms` rounded up to whole seconds.
    static func retryAfter(_ headers: HTTPHeaders) -> String? {
        if let value = headers.first(name: "retry-after"), !value.isEmpty { return value }
        if let ms = headers.first(name: "retry-after-ms").flatMap(Double.init), ms >= 0 {
            return String(Int((ms / 1000).rounded(.up)))
        }
        return nil
    }

    /// What the caller sees when the provider could not be reached or went quiet.
    static func transportError(_ error: Error, provider: String, phase: String) -> Error {
        switch error {
        case let stop as WatchdogStop:
            return stop == .idleTimeout ? GatewayError.upstreamTimeout(provider: provider, phase: "no data \(phase)") : stop
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded: return GatewayError.upstreamTimeout(provider: provider, phase: phase)
            case .connectTimeout: return GatewayError.upstreamTimeout(provider: provider, phase: "connecting")
            case .readTimeout: return GatewayError.upstreamTimeout(provider: provider, phase: phase)
            default: return GatewayError.upstreamFailed(provider: provider, status: nil)
            }
        case is GatewayError:
            return error
        default:
            return GatewayError.upstreamFailed(provider: provider, status: nil)
        }
    }
}

extension GatewayError {
    static func upstreamStreamCut(provider: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: "upstream_stream_cut",
                     message: "Provider '\(provider)' ended the stream before it was complete. The answer above is partial; retry the request.")
    }
}
