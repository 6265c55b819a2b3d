import KeygateCore

/// An OpenAI wire format served from an organisation's Azure resource: the body, answers, streams and errors
/// are the base adapter's; only the URL and the `api-key` header differ, and each adapter builds those in its
/// own `makeRequest`. The credential is Azure's JSON, so errors are scrubbed of the API key inside it.
public protocol AzureHostedAdapter: WireAdapter {
    associatedtype Base: WireAdapter
    var base: Base { get }
}

extension AzureHostedAdapter {
    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        base.response(fromBody: body, model: model)
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        base.makeStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        base.error(for: failure, provider: provider, credential: AzureCredential.apiKey(in: credential))
    }
}
