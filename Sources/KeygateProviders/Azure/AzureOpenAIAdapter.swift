import KeygateCore

/// Azure OpenAI chat completions: the OpenAI wire format on the organisation's own resource.
/// The credential is JSON `{"endpoint","apiKey","deploymentName","apiVersion"}`; requests go to
/// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}` with an `api-key`
/// header (or, for `apiVersion` `v1`, to `{endpoint}/openai/v1/chat/completions` with the deployment as model).
/// A `KEYGATE_PROVIDER_AZURE_BASE_URL` override replaces the credential's endpoint (tests, private links).
public struct AzureOpenAIAdapter: AzureHostedAdapter {
    public let base = OpenAIChatAdapter()

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest
    {
        let azure = try AzureCredential(credential, provider: resolved.provider, needsDeployment: true)
        let deployment = azure.deploymentName ?? ""
        // The OpenAI body as is; the deployment names the model.
        var upstream = try base.makeRequest(
            request,
            for: ResolvedModel(
                provider: resolved.provider,
                model: ModelSpec(
                    provider: resolved.provider.id, id: deployment, input: resolved.model.input, output: resolved.model.output)), credential: "")
        upstream.url =
            azure.apiVersion == "v1"
            ? azure.endpoint + "/openai/v1/chat/completions"
            : azure.endpoint + "/openai/deployments/" + URLText.percentEncoded(deployment) + "/chat/completions?api-version="
                + URLText.percentEncoded(azure.apiVersion)
        azure.authorize(&upstream)
        return upstream
    }
}
