import AsyncHTTPClient
import KeygateCore
import KeygateProviders
import NIOCore

/// A validated `/v1/messages` body for an Anthropic model, with the Anthropic headers the client sent.
struct AnthropicMessagesBody: Sendable {
    /// The body as parsed (key order and number text kept): forwarded with only `model` replaced.
    let json: JSONValue
    /// The model as the caller named it (catalog id or alias).
    let model: String
    /// Required by the Messages API; the output bound of the credit estimate.
    let maxTokens: Int64
    let stream: Bool
    /// The body's size as received: the prompt's share of the estimate.
    let byteCount: Int
    /// `anthropic-version` and `anthropic-beta` as the client sent them (the version defaults to ours).
    let version: String?
    let beta: String?

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
