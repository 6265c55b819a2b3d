import AsyncHTTPClient
import Foundation
import KeygateCore
import KeygateProviders
import NIOCore
import NIOHTTP1

/// Checks a credential against its provider with a cheap authenticated call (the catalog's `validation`:
/// usually listing models), before it is stored.
struct ProviderKeyValidator: Sendable {
    let upstream: UpstreamClients
    let catalogSource: Reloadable<Catalog>
    var catalog: Catalog { catalogSource.value }
    /// Counts validations by provider and result (`keygate_byok_validations_total`); nil in the CLI.
    var metrics: GatewayMetrics? = nil

    init(upstream: UpstreamClients, catalog: Reloadable<Catalog>, metrics: GatewayMetrics? = nil) {
        self.upstream = upstream
        self.catalogSource = catalog
        self.metrics = metrics
    }

    init(upstream: UpstreamClients, catalog: Catalog, metrics: GatewayMetrics? = nil) {
        self.init(upstream: upstream, catalog: Reloadable(catalog), metrics: metrics)
    }

    /// A model the catalog lists for the provider, for calls that need one.
    func catalogModel(for provider: ProviderSpec) -> String? {
        catalog.models.first { $0.provider == provider.id }?.id
    }

    enum Outcome: Equatable {
        case valid
        /// The provider refused the credential (401/403).
        case rejected(status: Int)
        /// No answer that tells: unreachable, 5xx, timeout.
        case unavailable(String)
        /// Only the shape could be checked (no authenticated call for this credential type yet).
        case shapeOnly
    }

    func validate(_ credential: BYOKCredential, provider: ProviderSpec) async -> Outcome {
        let outcome = await check(credential, provider: provider)
        if let metrics {
            let result: String
            switch outcome {
            case .valid: result = "valid"
            case .rejected: result = "rejected"
            case .unavailable: result = "unavailable"
            case .shapeOnly: result = "shape_only"
            }
            metrics.byokValidation(provider: provider.id, result: result)
        }
        return outcome
    }

    private func check(_ credential: BYOKCredential, provider: ProviderSpec) async -> Outcome {
        var request: HTTPClientRequest
        switch provider.credential {
        case .apiKey:
            var base = provider.baseURL
            base = URLText.trimmingTrailingSlashes(base)
            request = HTTPClientRequest(url: base + provider.validation.path)
            switch provider.validation.auth {
            case "x-api-key":
                request.headers.add(name: "x-api-key", value: credential.secret)
                request.headers.add(name: "anthropic-version", value: "2023-06-01")
            case "x-goog-api-key":
                request.headers.add(name: "x-goog-api-key", value: credential.secret)
            case "api-key":
                request.headers.add(name: "api-key", value: credential.secret)
            default:
                request.headers.add(name: "authorization", value: "Bearer " + credential.secret)
            }
        case .azure, .azureResponses:
            // A base URL override stands in for the credential's endpoint (tests, private links).
            var endpoint = provider.baseURL.contains("{endpoint}") ? (credential.fields["endpoint"] ?? "") : provider.baseURL
            endpoint = URLText.trimmingTrailingSlashes(endpoint)
            let version = credential.fields["apiVersion"] ?? ""
            let path = provider.validation.path.replacingOccurrences(of: "{apiVersion}", with: version)
            request = HTTPClientRequest(url: endpoint + path)
            request.headers.add(name: "api-key", value: credential.fields["apiKey"] ?? "")
        case .aws:
            // A signed CountTokens call: free, and it fails with 403 unless the credentials are good.
            let region = credential.fields["region"] ?? ""
            var base = provider.baseURL.replacingOccurrences(of: "{region}", with: region)
            base = URLText.trimmingTrailingSlashes(base)
            let model = catalogModel(for: provider).map { URLText.percentEncoded($0) } ?? "anthropic.claude-haiku-4-5"
            let url = base + provider.validation.path.replacingOccurrences(of: "{model}", with: model)
            let body = Array(#"{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}}"#.utf8)
            guard let parsed = URL(string: url) else { return .unavailable("bad endpoint") }
            let signer = SigV4Signer(
                accessKeyID: credential.fields["accessKeyId"] ?? "", secretAccessKey: credential.fields["secretAccessKey"] ?? "",
                sessionToken: credential.fields["sessionToken"], region: region, service: "bedrock")
            request = HTTPClientRequest(url: url)
            request.headers.add(name: "content-type", value: "application/json")
            for header in signer.sign(method: provider.validation.method, url: parsed, headers: [("content-type", "application/json")], body: body) {
                request.headers.add(name: header.name, value: header.value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        request.method = HTTPMethod(rawValue: provider.validation.method)
        do {
            let response = try await upstream.client(for: provider.id).execute(request, timeout: .seconds(15))
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            // Gemini refuses a bad key with 400 API_KEY_INVALID rather than 401.
            if response.status.code == 400, String(decoding: body, as: UTF8.self).contains("API_KEY_INVALID") { return .rejected(status: 400) }
            switch response.status.code {
            case 200..<300, 429: return .valid  // rate limited means the key itself was accepted
            case 401, 403: return .rejected(status: Int(response.status.code))
            // For a signed AWS call, any other client error came after the signature was accepted.
            case 400..<500 where provider.credential == .aws: return .valid
            default: return .unavailable("HTTP \(response.status.code)")
            }
        } catch {
            return .unavailable("no answer")
        }
    }
}
