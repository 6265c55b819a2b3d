import KeygateCore

/// OpenAI Chat Completions and every provider that speaks it (`{base}/chat/completions`, Bearer auth).
public struct OpenAIChatAdapter: WireAdapter {
    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let bytes = Self.forwardedBody(request, modelID: resolved.model.id)
        let base = URLText.trimmingTrailingSlashes(resolved.provider.baseURL)
        return UpstreamRequest(
            method: "POST",
            url: base + "/chat/completions",
            headers: [
                ("authorization", "Bearer " + credential),
                ("content-type", "application/json"),
                ("accept", request.stream ? "text/event-stream" : "application/json"),
            ],
            body: bytes)
    }

    /// The client's body with the provider's model id and, for a stream, `stream_options.include_usage: true`
    /// (always asked for, so a stream is never billed blind; the relay hides it again when the client did not
    /// ask for it). The two values are spliced into the bytes as received, so a long prompt is not re-encoded;
    /// the parse already refused a repeated field, so each replaced value is the only one.
    static func forwardedBody(_ request: ChatCompletionRequest, modelID: String) -> [UInt8] {
        let raw = request.bytes
        var edits: [(range: Range<Int>, bytes: [UInt8])] = []
        guard case .found(let model) = JSONScan.topLevelValue(in: raw, key: "model") else { return reencoded(request, modelID: modelID) }
        edits.append((model, JSONValue.string(modelID).encoded()))
        if request.stream {
            let options = streamOptions(request).encoded()
            switch JSONScan.topLevelValue(in: raw, key: "stream_options") {
            case .found(let range):
                edits.append((range, options))
            case .absent:
                // The scan compares keys as written; a key spelt with escapes (`"stream_opti\u006fns"`) is
                // only found by the parse, and inserting a second one would make a repeated field.
                guard request.body["stream_options"] == nil, let close = raw.lastIndex(of: UInt8(ascii: "}")) else {
                    return reencoded(request, modelID: modelID)
                }
                edits.append((close..<close, Array(#","stream_options":"#.utf8) + options))
            case .unreadable:
                return reencoded(request, modelID: modelID)
            }
        }
        edits.sort { $0.range.lowerBound < $1.range.lowerBound }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + 64)
        var at = 0
        for edit in edits {
            out.append(contentsOf: raw[at..<edit.range.lowerBound])
            out.append(contentsOf: edit.bytes)
            at = edit.range.upperBound
        }
        out.append(contentsOf: raw[at...])
        return out
    }

    private static func streamOptions(_ request: ChatCompletionRequest) -> JSONValue {
        var options = request.body["stream_options"]?.objectValue ?? [:]
        options["include_usage"] = .bool(true)
        return .object(options)
    }

    /// The same body, from the parsed tree (for a body the scan cannot follow; not expected after the parse).
    static func reencoded(_ request: ChatCompletionRequest, modelID: String) -> [UInt8] {
        var body = request.body
        body["model"] = .string(modelID)
        if request.stream { body["stream_options"] = streamOptions(request) }
        return body.encoded()
    }

    /// OpenAI-compatible answers pass through unchanged; only the usage is read.
    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        (nil, usage(fromResponseBody: body))
    }

    /// Only the top-level `usage` object is parsed (an answer can be long; the rest passes through
    /// untouched); an answer where the scan finds none is parsed whole, with the same result.
    public func usage(fromResponseBody body: [UInt8]) -> TokenUsage? {
        switch JSONScan.topLevelValue(in: body, key: "usage") {
        case .found(let range):
            guard let usage = try? JSONValue.decode(Array(body[range])) else { return nil }
            return OpenAIUsage.tokenUsage(from: usage)
        case .absent, .unreadable:
            // Absent to the scan, which compares keys as written: the parse also knows a key spelt with escapes.
            // (Rare: OpenAI-compatible answers carry usage.)
            guard let json = try? JSONValue.decode(body), let usage = json["usage"] else { return nil }
            return OpenAIUsage.tokenUsage(from: usage)
        }
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        OpenAISSERelay(forwardUsageChunk: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let detail = (try? JSONValue.decode(failure.body))?["error"]
        let code = detail?["code"].flatMap { $0.stringValue ?? $0.int64Value.map(String.init) }
        let kind = detail?["type"]?.stringValue ?? code
        switch failure.status {
        case 401, 403:
            return .platformKeyRejected(provider: provider.id)
        case 429 where kind == "insufficient_quota":
            return .platformQuotaExhausted(provider: provider.id)
        case 429:
            return .upstreamRateLimited(provider: provider.id, retryAfter: failure.retryAfter)
        case 400, 404, 409, 413, 422:
            let message = detail?["message"]?.stringValue.map { SecretScrubber.scrub($0, secrets: [credential]) }
            return .upstreamRejectedRequest(
                provider: provider.id, status: failure.status, message: message,
                param: detail?["param"]?.stringValue, code: code)
        default:
            return .upstreamFailed(provider: provider.id, status: failure.status)
        }
    }
}
