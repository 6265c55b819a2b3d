/// Splits a server-sent-events byte stream into complete events, however the bytes are chunked. An event
/// ends at a blank line (`\n\n` or `\r\n\r\n`); only an incomplete event is held back.
struct SSEFramer {
    private var pending: [UInt8] = []
    /// Where scanning resumes inside `pending`, and where the current line started.
    private var scanIndex = 0
    private var lineStart = 0

    /// True when no partial event is held.
    var isEmpty: Bool { pending.isEmpty }

    /// Appends bytes; returns the events they completed, each with its terminating blank line.
    mutating func append(_ chunk: [UInt8]) -> [ArraySlice<UInt8>] {
        pending.append(contentsOf: chunk)
        var events: [ArraySlice<UInt8>] = []
        var eventStart = 0
        var i = scanIndex
        while i < pending.count {
            if pending[i] == UInt8(ascii: "\n") {
                let lineEnd = (i > lineStart && pending[i - 1] == UInt8(ascii: "\r")) ? i - 1 : i
                if lineEnd == lineStart {
                    events.append(pending[eventStart...i])
                    eventStart = i + 1
                }
                lineStart = i + 1
            }
            i += 1
        }
        if eventStart > 0 {
            // The slices keep the old storage alive (copy on write), so they stay valid after this.
            pending.removeFirst(eventStart)
            lineStart -= eventStart
        }
        scanIndex = pending.count
        return events
    }

    /// The bytes of an unfinished last event (the stream ended without its blank line).
    mutating func finish() -> [UInt8] {
        defer { pending = []; scanIndex = 0; lineStart = 0 }
        return pending
    }
}
