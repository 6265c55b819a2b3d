import Foundation
import KeygateCore

/// A conversation being rebuilt for a provider whose turns must alternate (Anthropic, Gemini, Bedrock):
/// consecutive parts for the same role join one turn.
struct AlternatingTurns {
    /// The key of each turn's parts array (`content` for Anthropic and Bedrock, `parts` for Gemini).
    let partsKey: String
    private(set) var turns: [JSONObject] = []

    init(partsKey: String) { self.partsKey = partsKey }

    mutating func append(role: String, parts: [JSONValue]) {
        guard !parts.isEmpty else { return }
        if var last = turns.last, last["role"]?.stringValue == role, case .array(let existing)? = last[partsKey] {
            last[partsKey] = .array(existing + parts)
            turns[turns.count - 1] = last
        } else {
            turns.append(["role": .string(role), partsKey: .array(parts)])
        }
    }

    var json: JSONValue { .array(turns.map(JSONValue.object)) }
}

/// `data:<media type>;base64,<data>` image URLs.
enum DataURL {
    /// The media type and base64 data, or nil if `url` is not a base64 data URL.
    static func parse(_ url: String) -> (mediaType: String, base64: String)? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else { return nil }
        let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count))
        return (mediaType, String(url[url.index(after: comma)...]))
    }
}

/// Tool-call arguments (a JSON text) as the object providers want, `{}` when they are not an object.
func argumentsObject(_ arguments: String?) -> JSONValue {
    (try? JSONValue.decode(Array((arguments ?? "{}").utf8))).flatMap { $0.objectValue.map(JSONValue.object) } ?? .object([:])
}

/// `stop` (one string or a list of them) as the list providers take; nil when absent.
/// An OpenAI `tool_calls` entry of a whole answer, for a provider's tool call.
func openAIToolCall(id: JSONValue, name: JSONValue, arguments: JSONValue) -> JSONValue {
    .object(["id": id, "type": .string("function"), "function": .object(["name": name, "arguments": arguments])])
}

/// A tool's input object as the JSON text OpenAI's `arguments` carries (`{}` when there is none).
func argumentsText(_ input: JSONValue?) -> JSONValue {
    .string(String(decoding: (input ?? .object([:])).encoded(), as: UTF8.self))
}

func stopSequences(_ stop: JSONValue?) -> JSONValue? {
    if let one = stop?.stringValue { return .array([.string(one)]) }
    if let many = stop?.arrayValue { return .array(many) }
    return nil
}

/// The text of a message's `content`: the string itself, or the `text` of its parts joined by newlines
/// (other parts dropped), for fields that take plain text (system prompts, tool results).
func plainText(of content: JSONValue?) -> String {
    switch content {
    case .string(let s)?: return s
    case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    default: return ""
    }
}

/// A message's `content` as a provider's parts: a string is one `text` part (none when empty); in an array,
/// `text` parts become `text` of their text, `image_url` parts `image` of the part, and any other type is
/// refused with "`refusal`; '<type>' in <param> is not supported."
func contentParts(
    _ content: JSONValue?, param: String, refusal: String, text: (JSONValue) -> JSONValue,
    image: (JSONValue) throws(GatewayError) -> JSONValue
) throws(GatewayError) -> [JSONValue] {
    switch content {
    case .string(let s)?:
        return s.isEmpty ? [] : [text(.string(s))]
    case .array(let items)?:
        var parts: [JSONValue] = []
        for item in items {
            switch item["type"]?.stringValue {
            case "text":
                parts.append(text(item["text"] ?? .string("")))
            case "image_url":
                parts.append(try image(item))
            default:
                throw GatewayError.unsupportedContent("\(refusal); '\(item["type"]?.stringValue ?? "?")' in \(param) is not supported.", param: param)
            }
        }
        return parts
    default:
        return []
    }
}

/// A translated non-streaming answer as an OpenAI `chat.completion`: one choice whose assistant message has
/// the text (null when there are only tool calls), any reasoning and the tool calls; the usage when reported.
func chatCompletion(
    id: String, created: JSONValue = .int(Int64(Date().timeIntervalSince1970)), model: JSONValue, text: String,
    reasoning: String = "", toolCalls: [JSONValue], finishReason: String, usage: TokenUsage?
) -> [UInt8] {
    var message: JSONObject = ["role": .string("assistant"), "content": text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)]
    if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
    if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
    var completion: JSONObject = [
        "id": .string(id), "object": .string("chat.completion"), "created": created, "model": model,
        "choices": .array([.object(["index": .int(0), "message": .object(message), "finish_reason": .string(finishReason)])]),
    ]
    if let usage { completion["usage"] = OpenAIUsage.json(usage) }
    return JSONValue.object(completion).encoded()
}
