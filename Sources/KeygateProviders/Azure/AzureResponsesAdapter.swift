import KeygateCore

/// Azure OpenAI's Responses API on the organisation's resource: credential JSON
/// `{"endpoint","apiKey","apiVersion"}`; `{endpoint}/openai/v1/responses` for `apiVersion` `v1`, else
/// `{endpoint}/openai/responses?api-version=…`; `api-key` header; the model is the deployment name the
/// client sends. A `KEYGATE_PROVIDER_AZURE_RESPONSES_BASE_URL` override replaces the endpoint.
public struct AzureResponsesAdapter: AzureHostedAdapter {
    public let base = OpenAIResponsesAdapter()

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let azure = try AzureCredential(credential, provider: resolved.provider, needsDeployment: false)
        var upstream = try base.makeRequest(request, for: resolved, credential: "")
        upstream.url =
            azure.apiVersion == "v1"
            ? azure.endpoint + "/openai/v1/responses"
            : azure.endpoint + "/openai/responses?api-version=" + URLText.percentEncoded(azure.apiVersion)
        azure.authorize(&upstream)
        return upstream
    }
}
