import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A fake provider for tests and benchmarks that speaks every wire format Keygate has an adapter for:
/// OpenAI chat completions (`/v1/chat/completions` JSON and SSE, `/v1/models`, OpenAI error bodies), Azure
/// deployments, OpenAI and Azure Responses, Anthropic Messages, Gemini and Bedrock Converse (signatures
/// verified). It records every request it receives, and notices when a caller hangs up.
///
/// Behaviour is chosen per request by a directive in the last message's text, so it works through the
/// gateway unchanged: `#fake chunks=3 delay_ms=200 cut_after=2 status=429 retry_after=7 hang forever
/// no_usage usage_on_content first_byte_delay_ms=500 prompt_tokens=12 cached_tokens=4 reasoning_tokens=1`.
public final class FakeProvider: Sendable {
    public struct RecordedRequest: Sendable {
        public var path: String
        public var query: String
        public var headers: [String: String]
        public var rawBody: [UInt8]
        /// The body parsed as a JSON object.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(rawBody))) as? [String: Any] }
    }

    /// Keys callers may send as `Authorization: Bearer …`; nil accepts any.
    private let acceptedKeys: Mutex<Set<String>?>
    private let awsSecrets = Mutex<[String: String]>([:])
    private let state = Mutex<(requests: [RecordedRequest], disconnects: Int)>(([], 0))

    public init(expectedKey: String? = nil) {
        acceptedKeys = Mutex(expectedKey.map { [$0] })
    }

    /// Accepts another key from now on (an organisation's own key, in BYOK tests).
    public func accept(_ key: String) {
        acceptedKeys.withLock { keys in keys = (keys ?? []).union([key]) }
    }

    /// Registers an AWS access key id with its secret: Bedrock requests signed with it are verified.
    public func acceptAWS(accessKeyID: String, secret: String) {
        accept(accessKeyID)
        awsSecrets.withLock { $0[accessKeyID] = secret }
    }

    func awsSecret(for accessKeyID: String) -> String? { awsSecrets.withLock { $0[accessKeyID] } }

    /// Stops accepting a key (the provider "revoked" it).
    public func revoke(_ key: String) {
        acceptedKeys.withLock { keys in keys?.remove(key) }
    }

    public var requests: [RecordedRequest] { state.withLock { $0.requests } }
    /// How many responses ended because the caller closed the connection.
    public var disconnects: Int { state.withLock { $0.disconnects } }

    func noteDisconnect() { state.withLock { $0.disconnects += 1 } }

    public func router() -> Router<FakeContext> {
        let router = Router(context: FakeContext.self)
        router.get("/v1/models") { request, context in
            self.record(request, body: [])
            if let denied = self.deny(request) { return denied }
            return Self.json(.ok, ["object": "list", "data": [["id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"]]])
        }
        // Bedrock CountTokens: accepts a SigV4 request whose access key id is accepted (signature not checked).
        router.post("/model/:model/count-tokens") { request, context in
            self.record(request, body: [])
            let authorization = request.headers[.authorization] ?? ""
            let keyID = authorization.components(separatedBy: "Credential=").dropFirst().first?.split(separator: "/").first.map(String.init) ?? ""
            let accepted = self.acceptedKeys.withLock { $0?.contains(keyID) ?? true }
            guard authorization.hasPrefix("AWS4-HMAC-SHA256 "), request.headers[HTTPField.Name("x-amz-date")!] != nil, accepted else {
                return Self.json(.forbidden, ["message": "The security token included in the request is invalid."])
            }
            return Self.json(.ok, ["inputTokens": 3])
        }
        router.post("/v1/chat/completions") { request, context in
            try await self.chat(request, context: context)
        }
        addAnthropicRoutes(to: router)
        addGeminiRoutes(to: router)
        addBedrockRoutes(to: router)
        addResponsesRoutes(to: router)
        // Azure OpenAI: the same chat completions under a deployment, and the model list for key checks.
        router.post("/openai/deployments/:deployment/chat/completions") { request, context in
            try await self.chat(request, context: context)
        }
        router.get("/openai/models") { request, context in
            self.record(request, body: [])
            if let denied = self.deny(request) { return denied }
            return Self.json(.ok, ["object": "list", "data": []])
        }
        return router
    }

    /// Runs the fake on 127.0.0.1 until the task is cancelled; `onRunning` gets the bound port. With `stripe`,
    /// the fake Stripe's routes are served on the same port (their paths do not collide).
    public func run(
        port: Int = 0, logLevel: Logger.Level = .critical, stripe: FakeStripe? = nil, onRunning: @escaping @Sendable (Int) async -> Void
    ) async throws {
        var logger = Logger(label: "fake-upstream")
        logger.logLevel = logLevel
        let router = router()
        stripe?.addRoutes(to: router)
        let app = Application(
            router: router, server: .http1(configuration: .init(additionalChannelHandlers: [HangupCloser()])),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "fake-upstream"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
        try await app.run()
    }

    func isAccepted(_ key: String) -> Bool {
        acceptedKeys.withLock { $0?.contains(key) ?? true }
    }

    func record(_ request: Request, body: [UInt8]) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        state.withLock {
            $0.requests.append(RecordedRequest(path: request.uri.path, query: request.uri.query ?? "", headers: headers, rawBody: body))
        }
    }

    func deny(_ request: Request) -> Response? {
        // Bearer (OpenAI style) or x-api-key (Anthropic style, as Anthropic's key check sends it).
        let sent =
            request.headers[.authorization] ?? request.headers[HTTPField.Name("x-api-key")!] ?? request.headers[HTTPField.Name("api-key")!] ?? ""
        guard let keys = acceptedKeys.withLock({ $0 }) else { return nil }
        guard !keys.contains(sent.replacingOccurrences(of: "Bearer ", with: "")) else { return nil }
        // Like the real thing, echo part of the key that was sent: the gateway must never pass this on.
        let shown = sent.replacingOccurrences(of: "Bearer ", with: "")
        return Self.json(
            .unauthorized,
            [
                "error": [
                    "message": "Incorrect API key provided: \(shown). You can find your API key at https://example.invalid/keys.",
                    "type": "invalid_request_error", "param": NSNull(), "code": "invalid_api_key",
                ]
            ])
    }

    private func chat(_ request: Request, context: FakeContext) async throws -> Response {
        let raw = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(raw.readableBytesView)
        let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        record(request, body: bytes)
        if let denied = deny(request) { return denied }

        let directive = Directive(body: body)
        if directive.firstByteDelayMs > 0 {
            try await sleepWatching(context.channel, ms: directive.firstByteDelayMs)
        }
        if directive.hang {
            // Never answer; stop when the caller leaves.
            while context.channel.isActive { try await Task.sleep(for: .milliseconds(20)) }
            noteDisconnect()
            throw CancellationError()
        }
        if let status = directive.status, directive.onlyKey.map({ request.headers[.authorization] == "Bearer " + $0 }) ?? true {
            var response = Self.json(
                HTTPResponse.Status(code: status),
                [
                    "error": [
                        "message": "fake failure \(status)", "type": status == 429 ? "rate_limit_error" : (directive.errorType ?? "server_error"),
                        "param": NSNull(), "code": orNull(directive.errorType),
                    ]
                ])
            if let retry = directive.retryAfter { response.headers[HTTPField.Name("retry-after")!] = retry }
            if let retryMs = directive.retryAfterMs { response.headers[HTTPField.Name("retry-after-ms")!] = retryMs }
            return response
        }
        let model = body?["model"] as? String ?? "fake-model"
        let stream = body?["stream"] as? Bool ?? false
        let options = body?["stream_options"] as? [String: Any]
        let wantsUsage = options?["include_usage"] as? Bool ?? false
        let id = "chatcmpl-fake\(Int.random(in: 100000...999999))"
        if !stream {
            var answer: [String: Any] = [
                "id": id, "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [["index": 0, "message": ["role": "assistant", "content": directive.text], "finish_reason": "stop"]],
            ]
            if !directive.noUsage { answer["usage"] = directive.usageObject }
            return Self.json(.ok, answer)
        }
        let chunks = directive.chunks
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                func event(_ object: [String: Any]) -> ByteBuffer {
                    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
                    return ByteBuffer(bytes: Array("data: ".utf8) + Array(data) + Array("\n\n".utf8))
                }
                func chunk(_ delta: [String: Any], finish: String?, withUsage: Bool) -> [String: Any] {
                    var c: [String: Any] = [
                        "id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                        "choices": [["index": 0, "delta": delta, "finish_reason": orNull(finish)]],
                    ]
                    if wantsUsage { c["usage"] = withUsage ? directive.usageObject : NSNull() }
                    return c
                }
                do {
                    try await writer.write(event(chunk(["role": "assistant", "content": ""], finish: nil, withUsage: false)))
                    var index = 0
                    while directive.forever || index < chunks {
                        if directive.delayMs > 0 { try await self.sleepWatching(context.channel, ms: directive.delayMs) }
                        if let cut = directive.cutAfter, index >= cut {
                            // Drop the connection mid-stream, without [DONE], once what was written is on the wire.
                            try await cutConnection(context.channel)
                            return
                        }
                        let last = !directive.forever && index == chunks - 1
                        try await writer.write(
                            event(
                                chunk(
                                    ["content": "w\(index) "], finish: last && directive.usageOnContent ? "stop" : nil,
                                    withUsage: last && directive.usageOnContent && !directive.noUsage)))
                        index += 1
                    }
                    if !directive.usageOnContent {
                        try await writer.write(event(chunk([:], finish: "stop", withUsage: false)))
                        if wantsUsage && !directive.noUsage {
                            try await writer.write(
                                event([
                                    "id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                                    "choices": [], "usage": directive.usageObject,
                                ]))
                        }
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                } catch is CallerLeft {
                    throw CancellationError()
                } catch {
                    // A failed write: the caller has gone.
                    self.noteDisconnect()
                    throw error
                }
            })
    }

    /// Sleeps in small steps, failing as soon as the caller's connection closes.
    private func sleepWatching(_ channel: any Channel, ms: Int) async throws {
        let deadline = ContinuousClock.now + .milliseconds(ms)
        while ContinuousClock.now < deadline {
            guard channel.isActive else { noteDisconnect(); throw CallerLeft() }
            try await Task.sleep(for: min(.milliseconds(10), deadline - ContinuousClock.now))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The caller closed the connection (already counted in `disconnects`).
struct CallerLeft: Error {}

func orNull(_ value: String?) -> Any { value.map { $0 as Any } ?? NSNull() }

/// What a request asked the fake to do.
struct Directive: Sendable {
    var usageObject: [String: Any] {
        [
            "prompt_tokens": promptTokens, "completion_tokens": chunks,
            "total_tokens": promptTokens + chunks,
            "prompt_tokens_details": ["cached_tokens": cachedTokens],
            "completion_tokens_details": ["reasoning_tokens": reasoningTokens],
        ]
    }

    var chunks = 5
    var delayMs = 0
    var firstByteDelayMs = 0
    var cutAfter: Int?
    var status: Int?
    var errorType: String?
    var retryAfter: String?
    var retryAfterMs: String?
    /// `status` applies only to requests made with this key.
    var onlyKey: String?
    var hang = false
    var forever = false
    var noUsage = false
    var usageOnContent = false
    var promptTokens = 12
    var cachedTokens = 4
    var reasoningTokens = 1
    var text = "Hello from the fake upstream."

    init(body: [String: Any]?) {
        guard let messages = body?["messages"] as? [[String: Any]], let content = messages.last?["content"] as? String,
            let range = content.range(of: "#fake")
        else { return }
        for word in content[range.upperBound...].split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0], value = parts.count > 1 ? parts[1] : ""
            switch key {
            case "chunks": chunks = Int(value) ?? chunks
            case "delay_ms": delayMs = Int(value) ?? 0
            case "first_byte_delay_ms": firstByteDelayMs = Int(value) ?? 0
            case "cut_after": cutAfter = Int(value)
            case "status": status = Int(value)
            case "error_type": errorType = value
            case "retry_after": retryAfter = value
            case "retry_after_ms": retryAfterMs = value
            case "only_key": onlyKey = value
            case "hang": hang = true
            case "forever": forever = true; if delayMs == 0 { delayMs = 50 }
            case "no_usage": noUsage = true
            case "usage_on_content": usageOnContent = true
            case "prompt_tokens": promptTokens = Int(value) ?? promptTokens
            case "cached_tokens": cachedTokens = Int(value) ?? cachedTokens
            case "reasoning_tokens": reasoningTokens = Int(value) ?? reasoningTokens
            default: break
            }
        }
    }
}

/// Request context of the fake: keeps the connection so the fake can see a caller hang up.
public struct FakeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Like a real provider's front end, treat a caller's end-of-input as the caller leaving: close the
/// connection so the handler sees `isActive` turn false.
final class HangupCloser: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Drops a streaming connection mid-answer, without the stream's end (the `cut_after` directive), once what
/// was written has had time to reach the wire: written events still queued in the channel when it closes
/// would be lost, and on a loaded test machine 50 ms was not always enough.
func cutConnection(_ channel: any Channel) async throws {
    try await Task.sleep(for: .milliseconds(300))
    channel.close(promise: nil)
}
