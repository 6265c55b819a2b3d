import KeygateCore

/// Translates a provider's stream into the client's SSE stream, one upstream chunk at a time, and
/// remembers the usage it saw.
public protocol StreamRelay: Sendable {
    /// Bytes to send to the client for this upstream chunk; `nil` means "send the chunk unchanged".
    /// Incomplete events are held back until the rest of them arrives.
    mutating func relay(_ chunk: [UInt8]) -> [UInt8]?
    /// Called once when the upstream body ended cleanly; returns any bytes still to send.
    mutating func finish() -> [UInt8]
    /// Usage the provider reported in the stream, if any.
    var usage: TokenUsage? { get }
    /// The provider ended the stream properly (`[DONE]`, its own end event, or a clean end after the last choice finished).
    var completed: Bool { get }
    /// UTF-8 bytes of generated text seen so far, for an estimate when no usage arrives.
    var generatedTextBytes: Int { get }
}
