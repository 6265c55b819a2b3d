import KeygateCore

/// Azure OpenAI's Responses API on the organisation's resource: credential JSON
/// `{"endpoint","apiKey","apiVersion"}`; `{endpoint}/openai/v1/responses` for `apiVersion` `v1`, else
/// `{endpoint}/openai/responses?api-version=…`; `api-key` header; the model is the deployment name the
/// client sends. A `KEYGATE_PROVIDER_AZURE_RESPONSES_BASE_URL` override replaces the endpoint.
public struct AzureResponsesProvider: ChatProvider {
    let responses = OpenAIResponsesProvider()

    public init() {}

    public func makeRequest(_ request: ChatCompletionRequest, for resolved: ResolvedModel, credential: String) throws(GatewayError) -> UpstreamRequest {
        guard let fields = (try? JSONValue.decode(Array(credential.utf8)))?.objectValue,
              let endpointText = fields["endpoint"]?.stringValue, let apiKey = fields["apiKey"]?.stringValue,
              let version = fields["apiVersion"]?.stringValue else {
            throw GatewayError(status: 500, type: "api_error", code: "byok_key_unreadable",
                               message: "The stored Azure credential is not the expected JSON (endpoint, apiKey, apiVersion). An org admin should add it again.")
        }
        var endpoint = resolved.provider.baseURL.contains("{endpoint}") ? endpointText : resolved.provider.baseURL
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var upstream = try responses.makeRequest(request, for: resolved, credential: "")
        upstream.url = version == "v1"
            ? endpoint + "/openai/v1/responses"
            : endpoint + "/openai/responses?api-version=" + SigV4Signer.uriEncode(version, keepSlash: false)
        upstream.headers.removeAll { $0.name == "authorization" }
        upstream.headers.append(("api-key", apiKey))
        return upstream
    }

    public func response(fromBody body: [UInt8], model: String) -> (translated: [UInt8]?, usage: TokenUsage?) {
        responses.response(fromBody: body, model: model)
    }

    public func makeStreamRelay(clientWantsUsage: Bool) -> any StreamRelay {
        responses.makeStreamRelay(clientWantsUsage: clientWantsUsage)
    }

    public func error(for failure: UpstreamFailure, provider: ProviderSpec, credential: String) -> GatewayError {
        let apiKey = (try? JSONValue.decode(Array(credential.utf8)))?["apiKey"]?.stringValue ?? credential
        return responses.error(for: failure, provider: provider, credential: apiKey)
    }
}
