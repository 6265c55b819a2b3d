import KeygateCore

/// One wire format: how to turn the canonical (OpenAI chat) request into the provider's request, and the
/// provider's answers (body, stream, usage, errors) back into the canonical form.
/// Adapters are pure: they never perform I/O and never see the database.
public protocol WireAdapter: Sendable {
    func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    /// A complete non-streaming answer translated to the OpenAI `chat.completion` format (`translated` nil:
    /// already in it, send as received), and the usage the provider reported (nil if none).
    func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?)
    /// A fresh relay for one streamed response.
    func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay
    /// True when the provider refused the credential itself (usually 401/403), so a BYOK key gets marked invalid.
    func isCredentialRejection(_ failure: UpstreamFailure) -> Bool
    /// The error the caller sees for a non-2xx provider answer. `credential` is scrubbed from any text kept.
    func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError
}

extension WireAdapter {
    public func isCredentialRejection(_ failure: UpstreamFailure) -> Bool { failure.status == 401 || failure.status == 403 }
}
