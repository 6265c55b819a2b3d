import KeygateCore

/// Relays an OpenAI-style SSE stream (`data: {chunk}\n\n` … `data: [DONE]\n\n`) event by event.
///
/// Keygate always asks the provider for the final usage chunk; when the client did not ask for it, this relay
/// drops that chunk (or, if a provider put usage on a chunk with content, clears the field) so the client sees
/// exactly what it asked for. Events are forwarded as soon as they are complete: only a partial event at the
/// end of a chunk is held back.
struct OpenAISSERelay: StreamRelay {
    let forwardUsageChunk: Bool
    private(set) var usage: TokenUsage?
    /// `[DONE]` arrived, or the provider closed the body cleanly after a choice finished (some
    /// OpenAI-compatible providers never send `[DONE]`).
    var completed: Bool { sawDone || (endedCleanly && sawFinishReason) }
    private var sawDone = false
    private var sawFinishReason = false
    private var endedCleanly = false
    private(set) var generatedTextBytes = 0

    private var framer = SSEFramer()

    init(forwardUsageChunk: Bool) {
        self.forwardUsageChunk = forwardUsageChunk
    }

    mutating func relay(_ chunk: [UInt8]) -> [UInt8]? {
        let hadPending = !framer.isEmpty
        let events = framer.append(chunk)
        var unchanged = !hadPending && framer.isEmpty
        var out: [UInt8] = []
        out.reserveCapacity(chunk.count)
        for event in events {
            switch handle(event: event) {
            case .keep: out.append(contentsOf: event)
            case .drop: unchanged = false
            case .replace(let bytes):
                out.append(contentsOf: bytes)
                unchanged = false
            }
        }
        return unchanged ? nil : out
    }

    mutating func finish() -> [UInt8] {
        endedCleanly = true
        let rest = framer.finish()
        guard !rest.isEmpty else { return [] }
        // A last event without its blank line: still count it, then pass it on.
        switch handle(event: rest[...]) {
        case .keep: return rest
        case .drop: return []
        case .replace(let bytes): return bytes
        }
    }

    enum Decision { case keep, drop, replace([UInt8]) }

    private mutating func handle(event: ArraySlice<UInt8>) -> Decision {
        guard let payload = SSE.dataPayload(of: event) else { return .keep }
        if payload.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return .keep
        }
        let scan = JSONScan.chunkFacts(in: payload)
        generatedTextBytes += scan.textBytes
        if scan.hasFinishReason { sawFinishReason = true }
        guard scan.hasUsageObject else { return .keep }
        guard var chunk = try? JSONValue.decode(payload) else { return .keep }
        if let reported = chunk["usage"].flatMap(OpenAIUsage.tokenUsage(from:)) { usage = reported }
        if forwardUsageChunk { return .keep }
        if chunk["choices"]?.arrayValue?.isEmpty ?? true { return .drop }
        // Usage riding on a content chunk: keep the content, hide the usage.
        chunk["usage"] = .null
        return .replace(Array("data: ".utf8) + chunk.encoded() + Array("\n\n".utf8))
    }

}
