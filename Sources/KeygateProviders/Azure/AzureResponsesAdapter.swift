import KeygateCore

/// Azure OpenAI's Responses API on the organisation's resource: credential JSON
/// `{"endpoint","apiKey","apiVersion"}`; `{endpoint}/openai/v1/responses` for `apiVersion` `v1`, else
/// `{endpoint}/openai/responses?api-version=…`; `api-key` header; the model is the deployment name the
/// client sends. A `KEYGATE_PROVIDER_AZURE_RESPONSES_BASE_URL` override replaces the endpoint.
public struct AzureResponsesAdapter: WireAdapter {
    let responses = OpenAIResponsesAdapter()

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let azure = try AzureCredential(credential, provider: resolved.provider, needsDeployment: false)
        var upstream = try responses.makeRequest(request, for: resolved, credential: "")
        upstream.url =
            azure.apiVersion == "v1"
            ? azure.endpoint + "/openai/v1/responses"
            : azure.endpoint + "/openai/responses?api-version=" + URLText.percentEncoded(azure.apiVersion)
        azure.authorize(&upstream)
        return upstream
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        responses.response(fromBody: body, model: model)
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        responses.makeStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        responses.error(for: failure, provider: provider, credential: AzureCredential.apiKey(in: credential))
    }
}
