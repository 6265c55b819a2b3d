import AsyncHTTPClient
import KeygateCore
import KeygateProviders
import NIOCore

/// What the caller asked for, in one of the forms Keygate forwards. The pipeline builds the provider request,
/// the estimate and the reading of the answer from it, so a route only parses and renders.
enum CallBody: Sendable {
    /// The canonical form, an OpenAI chat completion: the provider's adapter translates it to its wire format.
    case chat(ChatCompletionRequest)
    /// An Anthropic Messages body for an Anthropic model: forwarded as sent, with the provider's model id.
    case anthropicMessages(AnthropicMessagesBody)

    var model: String {
        switch self {
        case .chat(let chat): return chat.model
        case .anthropicMessages(let body): return body.model
        }
    }

    var stream: Bool {
        switch self {
        case .chat(let chat): return chat.stream
        case .anthropicMessages(let body): return body.stream
        }
    }

    var promptBytes: Int {
        switch self {
        case .chat(let chat): return chat.byteCount
        case .anthropicMessages(let body): return body.byteCount
        }
    }

    /// The credits the call may cost at most: what a credit-billed call reserves.
    func estimate(model: ModelSpec, policy: CreditPolicy) -> CreditEstimate {
        switch self {
        case .chat(let chat): return CreditEstimate.make(for: chat, model: model, policy: policy)
        case .anthropicMessages(let body):
            return CreditEstimate.make(promptBytes: body.byteCount, maxOutputTokens: body.maxTokens, model: model, policy: policy)
        }
    }

    /// The provider request on the call's credential.
    func upstreamRequest(for call: PlannedCall) throws -> HTTPClientRequest {
        switch self {
        case .chat(let chat):
            let built = try call.route.adapter.makeRequest(chat, for: call.route.resolved, credential: call.credential)
            var outgoing = HTTPClientRequest(url: built.url)
            outgoing.method = .init(rawValue: built.method)
            for header in built.headers { outgoing.headers.add(name: header.name, value: header.value) }
            outgoing.body = .bytes(ByteBuffer(bytes: built.body))
            return outgoing
        case .anthropicMessages(let body):
            return body.upstreamRequest(for: call)
        }
    }
}
