import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateProviders
import NIOCore
import NIOHTTP1

/// One planned call on the wire: the watched fetch, the answer relayed or translated, the settlement, and
/// the provider's errors mapped to the caller's. Every route that calls a provider ends here.
struct UpstreamExchange: Sendable {
    let configuration: GatewayConfiguration
    let upstream: UpstreamClients
    let settlement: CallSettlement
    /// Marks an organisation's key invalid when the provider refuses it.
    let byokService: BYOKService
    /// Upstream calls in flight per provider, pool waits, and keys refused during a request.
    let metrics: GatewayMetrics
    /// Cuts the exchange when a graceful stop's grace period is over.
    let shutdown: ShutdownDeadline

    /// Sends the call and answers the client: a stream is relayed as it arrives (settled when it ends), a
    /// whole answer settled before it is returned, a provider error mapped (an org key the provider refused
    /// is marked invalid).
    func run(_ body: CallBody, call: PlannedCall, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        let route = call.route
        let outgoing = try body.upstreamRequest(for: call)
        let timeouts = configuration.timeouts(for: route.provider)
        let watchdog = UpstreamWatchdog(channel: context.channel, idleTimeout: timeouts.idle, shutdown: shutdown)
        let sentAt = ContinuousClock.now
        let answer: UpstreamAnswer
        do {
            answer = try await fetch(
                outgoing, client: upstream.client(for: route.provider), firstByte: timeouts.firstByte,
                stream: body.stream, watchdog: watchdog, provider: route.provider)
        } catch {
            usage.upstreamTime = ContinuousClock.now - sentAt
            throw error
        }
        usage.upstreamTime = ContinuousClock.now - sentAt

        var headers: HTTPFields = [.keygateBilling: route.billing.rawValue, .keygateProvider: route.provider]
        if let byokKey = route.byokKey { headers[.keygateBYOKKey] = byokKey.preview }
        switch answer {
        case .stream(let response):
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let streamUsage = usage
            let relay: any StreamRelay
            let errorEvents: StreamErrorEvents
            switch body {
            case .chat(let chat):
                relay = route.adapter.makeStreamRelay(clientWantsUsage: chat.clientWantsStreamUsage)
                errorEvents = .openAI
            case .anthropicMessages:
                relay = AnthropicAdapter().makePassthroughRelay()
                errorEvents = .anthropic
            }
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    await relayStream(
                        response, relay: relay, errorEvents: errorEvents, watchdog: watchdog, provider: route.provider,
                        usage: streamUsage, sentAt: sentAt, writer: &writer)
                })

        case .complete(let status, let upstreamHeaders, let body) where !(200..<300).contains(status):
            let failure = UpstreamFailure(status: status, body: Array(body.readableBytesView), retryAfter: Self.retryAfter(upstreamHeaders))
            if let byokKey = route.byokKey, route.adapter.isCredentialRejection(failure) {
                metrics.byokRejectedDuringRequest(provider: route.provider)
                await byokService.markRejected(organizationID: usage.caller.organization.id, key: byokKey, status: status)
                throw GatewayError.byokKeyRejected(provider: route.provider, preview: byokKey.preview, status: status)
            }
            throw route.adapter.error(for: failure, provider: route.resolved.provider, credential: call.credential)

        case .complete(let status, _, let received):
            let out: ByteBuffer
            let reported: TokenUsage?
            switch body {
            case .chat:
                let (translated, usage) = route.adapter.response(fromBody: Array(received.readableBytesView), model: route.resolved.model.id)
                out = translated.map { ByteBuffer(bytes: $0) } ?? received
                reported = usage
            case .anthropicMessages:
                out = received
                reported = AnthropicAdapter.usage(fromMessage: Array(received.readableBytesView))
            }
            let tokens =
                reported
                ?? TokenUsage(
                    inputTokens: TokenEstimator.tokens(forBytes: body.promptBytes),
                    outputTokens: TokenEstimator.tokens(forBytes: out.readableBytes), estimated: true)
            headers[.contentType] = "application/json"
            // The provider has done (and billed) the work: it is settled and recorded whether or not the client reads it.
            let charged = await settlement.settle(usage, status: status, errorCode: nil, tokens: tokens, producedOutput: true)
            headers[.keygateCreditsCharged] = charged.description
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: out))
        }
    }

    /// One watched exchange: the head, then (unless it is a 2xx stream to relay) the whole body. Transport
    /// failures come back as the caller's 502/504.
    func fetch(
        _ outgoing: HTTPClientRequest, client: HTTPClient, firstByte: Duration, stream: Bool,
        watchdog: UpstreamWatchdog, provider: String
    ) async throws -> UpstreamAnswer {
        metrics.upstreamStarted(provider: provider)
        do {
            let answer: UpstreamAnswer = try await watchdog.run {
                let response = try await client.execute(outgoing, deadline: .now() + TimeAmount(firstByte))
                let success = (200..<300).contains(response.status.code)
                if stream && success { return UpstreamAnswer.stream(response) }
                watchdog.activity.touch()
                let body = try await Self.collect(response.body, limit: success ? 256 << 20 : 1 << 20, activity: watchdog.activity)
                return .complete(status: Int(response.status.code), headers: response.headers, body: body)
            }
            // A stream holds its connection until `relayStream` has read it to the end.
            if case .complete = answer { metrics.upstreamFinished(provider: provider) }
            return answer
        } catch {
            metrics.upstreamFinished(provider: provider)
            let phase = watchdog.activity.idleFor == nil ? "waiting for the first byte" : "reading the response"
            throw Self.transportError(error, provider: provider, phase: phase)
        }
    }

    /// How a stream that ended early tells the client: in the format of the events it was receiving.
    enum StreamErrorEvents {
        case openAI
        case anthropic

        func bytes(for error: GatewayError) -> [UInt8] {
            switch self {
            case .openAI: return error.sseEventBytes
            case .anthropic: return Array("event: error\ndata: ".utf8) + error.anthropicBodyBytes + Array("\n\n".utf8)
            }
        }
    }

    /// Relays an upstream SSE body to the client. Never throws: every ending is turned into a settlement and
    /// usage record, and an ending the client can still hear about (provider cut the stream, went silent)
    /// into an error event, so a truncated answer is never mistaken for a complete one.
    func relayStream(
        _ response: HTTPClientResponse, relay: any StreamRelay, errorEvents: StreamErrorEvents, watchdog: UpstreamWatchdog,
        provider: String, usage: UsageDraft, sentAt: ContinuousClock.Instant, writer: inout any ResponseBodyWriter
    ) async {
        var usage = usage
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
            // Once the stream has begun, any upstream failure other than silence (or our own stop) is a cut stream.
            switch error as? WatchdogStop {
            case .idleTimeout: failure = .upstreamTimeout(provider: provider, phase: "no data between stream chunks")
            case .shuttingDown: failure = .serverShuttingDown
            default: failure = .upstreamStreamCut(provider: provider)
            }
        }
        if let failure, !clientGone {
            do { try await writer.write(ByteBuffer(bytes: errorEvents.bytes(for: failure))) } catch { clientGone = true }
        }
        metrics.upstreamFinished(provider: provider)
        usage.upstreamTime = ContinuousClock.now - sentAt
        let tokens =
            relay.usage
            ?? TokenUsage(
                inputTokens: TokenEstimator.tokens(forBytes: usage.promptBytes),
                outputTokens: TokenEstimator.tokens(forBytes: relay.generatedTextBytes), estimated: true)
        let ttft = firstChunkAt.map { $0 - usage.startedAt }
        // Whatever was produced is charged (reported usage, else the flagged estimate); nothing produced, nothing
        // charged. Settled before the response ends: a client that saw the whole answer was charged for it, even
        // if this process dies right after.
        _ = await settlement.settle(
            usage, status: 200, errorCode: clientGone ? "client_disconnected" : failure?.code, tokens: tokens,
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
            switch stop {
            case .idleTimeout: return GatewayError.upstreamTimeout(provider: provider, phase: "no data \(phase)")
            case .shuttingDown: return GatewayError.serverShuttingDown
            case .clientDisconnected: return stop
            }
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
