/// A client's `POST /v1/chat/completions` body, validated. The whole JSON is kept so that fields Keygate does
/// not interpret reach the provider unchanged.
public struct ChatCompletionRequest: Sendable {
    public var body: JSONValue
    /// The model as the client wrote it (`openai/gpt-5.6-luna` or `gpt-5.6-luna`).
    public let model: String
    public let stream: Bool
    /// The client asked for the final usage chunk (`stream_options.include_usage`).
    public let clientWantsStreamUsage: Bool
    /// `max_completion_tokens`, else `max_tokens`.
    public let maxOutputTokens: Int64?
    /// The body as received (validated: one JSON object, no repeated top-level field).
    public let bytes: [UInt8]
    /// Size of the body as received, for estimates.
    public var byteCount: Int { bytes.count }

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// Validates the parts Keygate relies on; the provider validates the rest.
    public static func parse(_ bytes: [UInt8]) throws(GatewayError) -> ChatCompletionRequest {
        let json: JSONValue
        do {
            json = try JSONValue.decode(bytes)
        } catch {
            throw GatewayError.invalidJSON(bytes.isEmpty ? "the body is empty" : "it could not be parsed")
        }
        guard case .object(let fields) = json else {
            throw GatewayError.invalidJSON("expected an object, got \(json.typeName)")
        }
        // A repeated field means what the parser reading it decides (the last here, the first elsewhere): a
        // request could be billed for one model while a provider runs another. Refused.
        if let repeated = fields.firstRepeatedKey { throw GatewayError.duplicateField(repeated) }
        guard let modelValue = fields["model"], !modelValue.isNull else {
            throw GatewayError.missingField("model", expected: "a model id such as 'openai/gpt-5.6-luna'")
        }
        guard let model = modelValue.stringValue else {
            throw GatewayError.wrongType("model", expected: "a string", found: modelValue.typeName)
        }
        guard !model.isEmpty else { throw GatewayError.badRequest("'model' must not be empty.", param: "model") }

        guard let messagesValue = fields["messages"], !messagesValue.isNull else {
            throw GatewayError.missingField("messages", expected: "an array of messages")
        }
        guard let messages = messagesValue.arrayValue else {
            throw GatewayError.wrongType("messages", expected: "an array", found: messagesValue.typeName)
        }
        guard !messages.isEmpty else {
            throw GatewayError.badRequest("'messages' must contain at least one message.", param: "messages")
        }
        for (index, message) in messages.enumerated() {
            guard case .object(let m) = message else {
                throw GatewayError.wrongType("messages[\(index)]", expected: "an object", found: message.typeName)
            }
            guard let role = m["role"], !role.isNull else {
                throw GatewayError.missingField("messages[\(index)].role", expected: "one of system, developer, user, assistant, tool")
            }
            guard let roleName = role.stringValue else {
                throw GatewayError.wrongType("messages[\(index)].role", expected: "a string", found: role.typeName)
            }
            guard roles.contains(roleName) else {
                throw GatewayError.invalidValue(
                    "Invalid value for 'messages[\(index)].role': '\(roleName)'. Use one of system, developer, user, assistant, tool.",
                    param: "messages[\(index)].role")
            }
            if let content = m["content"] {
                switch content {
                case .string, .array, .null: break
                default:
                    throw GatewayError.wrongType(
                        "messages[\(index)].content", expected: "a string or an array of content parts", found: content.typeName)
                }
            }
        }

        var stream = false
        if let value = fields["stream"], !value.isNull {
            guard let flag = value.boolValue else { throw GatewayError.wrongType("stream", expected: "a boolean", found: value.typeName) }
            stream = flag
        }
        var wantsUsage = false
        if let value = fields["stream_options"], !value.isNull {
            guard case .object(let options) = value else {
                throw GatewayError.wrongType("stream_options", expected: "an object", found: value.typeName)
            }
            if let include = options["include_usage"], !include.isNull {
                guard let flag = include.boolValue else {
                    throw GatewayError.wrongType("stream_options.include_usage", expected: "a boolean", found: include.typeName)
                }
                wantsUsage = flag
            }
        }
        var maxOutput: Int64?
        for name in ["max_tokens", "max_completion_tokens"] {
            guard let value = fields[name], !value.isNull else { continue }
            guard let number = value.int64Value else {
                throw GatewayError.wrongType(name, expected: "an integer", found: value.typeName)
            }
            guard number >= 1 else { throw GatewayError.invalidValue("'\(name)' must be at least 1.", param: name) }
            if name == "max_completion_tokens" || maxOutput == nil { maxOutput = number }
        }
        return ChatCompletionRequest(
            body: json, model: model, stream: stream, clientWantsStreamUsage: wantsUsage,
            maxOutputTokens: maxOutput, bytes: bytes)
    }
}
