import Foundation
import KeygateCore

/// Writes the OpenAI `chat.completion.chunk` SSE events of a translated stream (every chunk of one stream
/// carries the same id, creation time and model) and the events that end one: the usage chunk, `[DONE]`, and
/// the error event for a provider that failed after the answer began.
struct ChunkWriter {
    /// Set from the provider's own id or model when its stream names them.
    var id: String
    var model: String
    let created = Int64(Date().timeIntervalSince1970)
    /// The provider's index of each tool call's block → its OpenAI tool-call index (0, 1, … in order of start).
    private var toolCallIndex: [Int64: Int] = [:]

    /// A tool call has started in this stream.
    var hasToolCalls: Bool { !toolCallIndex.isEmpty }

    init(id: String, model: String = "") {
        self.id = id
        self.model = model
    }

    /// One chunk with one choice.
    func chunk(delta: JSONObject, finishReason: String? = nil) -> [UInt8] {
        Self.event(
            .object([
                "id": .string(id), "object": .string("chat.completion.chunk"), "created": .int(created), "model": .string(model),
                "choices": .array([
                    .object(["index": .int(0), "delta": .object(delta), "finish_reason": finishReason.map(JSONValue.string) ?? .null])
                ]),
            ]))
    }

    /// The chunk that opens a tool call (its arguments follow in pieces); `providerIndex` is the provider's
    /// own index of the call's block, by which its argument pieces name it.
    mutating func toolCallStart(providerIndex: Int64, id: JSONValue, name: JSONValue) -> [UInt8] {
        let callIndex = toolCallIndex.count
        toolCallIndex[providerIndex] = callIndex
        return chunk(delta: [
            "tool_calls": .array([
                .object([
                    "index": .int(Int64(callIndex)), "id": id, "type": .string("function"),
                    "function": .object(["name": name, "arguments": .string("")]),
                ])
            ])
        ])
    }

    /// A piece of the arguments of the tool call the provider indexes `providerIndex` (the first call when unknown).
    func toolCallArguments(providerIndex: Int64?, _ arguments: String) -> [UInt8] {
        let callIndex = providerIndex.flatMap { toolCallIndex[$0] } ?? 0
        return chunk(delta: [
            "tool_calls": .array([.object(["index": .int(Int64(callIndex)), "function": .object(["arguments": .string(arguments)])])])
        ])
    }

    /// The end of the stream: the usage chunk (no choices) when the client asked for usage and there is some,
    /// then `[DONE]`.
    func end(usage: TokenUsage?, clientWantsUsage: Bool) -> [UInt8] {
        var out: [UInt8] = []
        if clientWantsUsage, let usage {
            out += Self.event(
                .object([
                    "id": .string(id), "object": .string("chat.completion.chunk"), "created": .int(created),
                    "model": .string(model), "choices": .array([]), "usage": OpenAIUsage.json(usage),
                ]))
        }
        return out + Self.done
    }

    static let done = Array("data: [DONE]\n\n".utf8)

    /// One `data:` event.
    static func event(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.encoded() + Array("\n\n".utf8)
    }

    /// The error event for a provider's error inside a stream: "Provider 'x' failed mid-stream: …"
    /// (`provider` nil when the relay serves several providers and cannot name one).
    static func failedMidStream(provider: String?, reason: String, code: JSONValue) -> [UInt8] {
        partialAnswerError("Provider " + (provider.map { "'\($0)' " } ?? "") + "failed mid-stream: " + reason, code: code)
    }

    /// An error event in OpenAI's shape after part of the answer was sent: `what` went wrong, and the client
    /// is told the answer is partial.
    static func partialAnswerError(_ what: String, code: JSONValue) -> [UInt8] {
        event(
            .object([
                "error": .object([
                    "message": .string(what + ". The answer above is partial; retry."),
                    "type": .string("api_error"), "param": .null, "code": code,
                ])
            ]))
    }
}
