import KeygateCore

/// An Azure OpenAI credential as stored: JSON `{"endpoint","apiKey","apiVersion"[,"deploymentName"]}`.
struct AzureCredential {
    var endpoint: String
    var apiKey: String
    var apiVersion: String
    var deploymentName: String?

    /// Parses the stored JSON; `needsDeployment` for chat completions on a deployment. The endpoint is the
    /// provider's base URL when an override replaced the catalog's `{endpoint}` placeholder.
    init(_ text: String, provider: ProviderSpec, needsDeployment: Bool) throws(GatewayError) {
        let fields = (try? JSONValue.decode(Array(text.utf8)))?.objectValue
        guard let endpoint = fields?["endpoint"]?.stringValue, let apiKey = fields?["apiKey"]?.stringValue,
            let version = fields?["apiVersion"]?.stringValue, !needsDeployment || fields?["deploymentName"]?.stringValue != nil
        else {
            throw GatewayError.byokKeyUnreadable(.azureNotExpectedJSON(needsDeployment: needsDeployment))
        }
        let base = URLText.trimmingTrailingSlashes(provider.baseURL.contains("{endpoint}") ? endpoint : provider.baseURL)
        self.endpoint = base
        self.apiKey = apiKey
        self.apiVersion = version
        self.deploymentName = fields?["deploymentName"]?.stringValue
    }

    /// The API key inside a stored credential, for scrubbing it from error text.
    static func apiKey(in text: String) -> String {
        (try? JSONValue.decode(Array(text.utf8)))?["apiKey"]?.stringValue ?? text
    }

    /// Swaps the OpenAI Bearer header for Azure's `api-key`.
    func authorize(_ request: inout UpstreamRequest) {
        request.headers.removeAll { $0.name == "authorization" }
        request.headers.append(("api-key", apiKey))
    }
}
