import AsyncHTTPClient
import KeygateCore
import KeygateProviders
import NIOCore

/// A validated `/v1/messages` body for an Anthropic model, with the Anthropic headers the client sent.
struct AnthropicMessagesBody: Sendable {
    /// The body as parsed (key order and number text kept): forwarded with only `model` replaced.
    let json: JSONValue
    /// Required by the Messages API; the output bound of the credit estimate.
    let maxTokens: Int64
    /// The body's size as received: the prompt's share of the estimate.
    let byteCount: Int
    /// `anthropic-version` and `anthropic-beta` as the client sent them (the version defaults to ours).
    let version: String?
    let beta: String?

    /// The model as the caller named it (catalog id or alias); never empty once parsed.
    var model: String { json["model"]?.stringValue ?? "" }
    var stream: Bool { json["stream"]?.boolValue ?? false }

    /// Checks what the Messages API requires; a repeated top-level field is refused as on
    /// `/v1/chat/completions` (the body is forwarded with `model` replaced, so a second copy could differ).
    init(parsing bytes: [UInt8], version: String?, beta: String?) throws(GatewayError) {
        let json: JSONValue
        do { json = try JSONValue.decode(bytes) } catch { throw GatewayError.invalidJSON("it could not be parsed") }
        guard case .object(let fields) = json else { throw GatewayError.invalidJSON("expected an object") }
        if let repeated = fields.firstRepeatedKey { throw GatewayError.duplicateField(repeated) }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw GatewayError.missingField("model", expected: "a model id such as claude-haiku-4-5")
        }
        guard let messages = json["messages"]?.arrayValue, !messages.isEmpty else {
            throw GatewayError.missingField("messages", expected: "a non-empty array of messages")
        }
        guard let maxTokens = json["max_tokens"]?.int64Value, maxTokens >= 1 else {
            throw GatewayError.missingField("max_tokens", expected: "a positive integer (required by the Messages API)")
        }
        self.json = json
        self.maxTokens = maxTokens
        self.byteCount = bytes.count
        self.version = version
        self.beta = beta
    }

    /// The body as sent with the provider's model id, to `{base}/v1/messages`.
    func upstreamRequest(for call: PlannedCall) -> HTTPClientRequest {
        var body = json
        body["model"] = .string(call.route.resolved.model.id)
        var outgoing = HTTPClientRequest(url: URLText.trimmingTrailingSlashes(call.route.resolved.provider.baseURL) + "/v1/messages")
        outgoing.method = .POST
        outgoing.headers.add(name: "x-api-key", value: call.credential)
        outgoing.headers.add(name: "anthropic-version", value: version ?? AnthropicAdapter.apiVersion)
        if let beta { outgoing.headers.add(name: "anthropic-beta", value: beta) }
        outgoing.headers.add(name: "content-type", value: "application/json")
        outgoing.body = .bytes(ByteBuffer(bytes: body.encoded()))
        return outgoing
    }
}
