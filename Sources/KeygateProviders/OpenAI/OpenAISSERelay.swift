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

/// Server-sent events framing helpers.
enum SSE {
    /// The joined `data:` lines of one event, or nil if it has none (a comment or `event:`-only block).
    static func dataPayload(of event: ArraySlice<UInt8>) -> [UInt8]? {
        let values = fieldValues(of: event, prefix: dataPrefix)
        guard var payload = values.first.map(Array.init) else { return nil }
        for value in values.dropFirst() {
            payload.append(UInt8(ascii: "\n"))
            payload.append(contentsOf: value)
        }
        return payload
    }

    /// The `event:` name of an event, if it has one.
    static func eventName(of event: ArraySlice<UInt8>) -> String? {
        fieldValues(of: event, prefix: eventPrefix).first.map { String(decoding: $0, as: UTF8.self) }
    }

    private static let dataPrefix = Array("data:".utf8)
    private static let eventPrefix = Array("event:".utf8)

    /// The values of every `field:` line of an event (`prefix` is the field name and its colon), in order
    /// (one leading space dropped, CRLF allowed).
    static func fieldValues(of event: ArraySlice<UInt8>, prefix: [UInt8]) -> [ArraySlice<UInt8>] {
        var values: [ArraySlice<UInt8>] = []
        var lineStart = event.startIndex
        var index = event.startIndex
        while index <= event.endIndex {
            if index == event.endIndex || event[index] == UInt8(ascii: "\n") {
                var line = event[lineStart..<index]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if line.starts(with: prefix) {
                    var value = line.dropFirst(prefix.count)
                    if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
                    values.append(value)
                }
                lineStart = index + 1
            }
            index += 1
        }
        return values
    }
}
