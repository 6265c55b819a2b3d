import KeygateCore

/// Azure OpenAI chat completions: the OpenAI wire format on the organisation's own resource.
/// The credential is JSON `{"endpoint","apiKey","deploymentName","apiVersion"}`; requests go to
/// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}` with an `api-key`
/// header (or, for `apiVersion` `v1`, to `{endpoint}/openai/v1/chat/completions` with the deployment as model).
/// A `KEYGATE_PROVIDER_AZURE_BASE_URL` override replaces the credential's endpoint (tests, private links).
public struct AzureOpenAIProvider: ChatProvider {
    let openAI = OpenAICompatibleProvider()

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest {
        guard let fields = (try? JSONValue.decode(Array(credential.utf8)))?.objectValue,
              let endpointText = fields["endpoint"]?.stringValue, let apiKey = fields["apiKey"]?.stringValue,
              let deployment = fields["deploymentName"]?.stringValue, let version = fields["apiVersion"]?.stringValue else {
            throw GatewayError(status: 500, type: "api_error", code: "byok_key_unreadable",
                               message: "The stored Azure credential is not the expected JSON (endpoint, apiKey, deploymentName, apiVersion). An org admin should add it again.")
        }
        var endpoint = resolved.provider.baseURL.contains("{endpoint}") ? endpointText : resolved.provider.baseURL
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        // The OpenAI body as is; the deployment names the model.
        var upstream = try openAI.makeRequest(request, for: ResolvedModel(provider: resolved.provider, model: ModelSpec(
            provider: resolved.provider.id, id: deployment, input: resolved.model.input, output: resolved.model.output)), credential: "")
        upstream.url = version == "v1"
            ? endpoint + "/openai/v1/chat/completions"
            : endpoint + "/openai/deployments/" + SigV4Signer.uriEncode(deployment, keepSlash: false) + "/chat/completions?api-version=" + SigV4Signer.uriEncode(version, keepSlash: false)
        upstream.headers.removeAll { $0.name == "authorization" }
        upstream.headers.append(("api-key", apiKey))
        return upstream
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        openAI.response(fromBody: body, model: model)
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        openAI.makeStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let apiKey = (try? JSONValue.decode(Array(credential.utf8)))?["apiKey"]?.stringValue ?? credential
        return openAI.error(for: failure, provider: provider, credential: apiKey)
    }
}
