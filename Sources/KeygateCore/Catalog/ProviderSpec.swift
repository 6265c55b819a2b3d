/// One upstream provider as the catalog describes it.
public struct ProviderSpec: Sendable, Hashable, Codable {
    /// Stable id used in `provider/model`, `x-byok-provider` and `KEYGATE_PROVIDER_<ID>_…`.
    public var id: String
    public var name: String
    public var aliases: [String]
    public var wireFormat: WireFormat
    /// What the provider's official SDK takes as base URL (see SPEC §11).
    public var baseURL: String
    public var credential: CredentialShape
    /// Every model on this provider costs nothing through the platform account.
    public var free: Bool
    /// How a key is checked when an organisation adds it.
    public var validation: KeyValidation
    /// A markup `keygate catalog import` applies to LiteLLM's prices of this provider's models, in basis
    /// points (1000 = 10 %); the prices in the file already include it.
    public var markupBasisPoints: Int64?

    enum CodingKeys: String, CodingKey {
        case id, name, aliases, free, credential, validation
        case markupBasisPoints = "markup_basis_points"
        case wireFormat = "wire_format"
        case baseURL = "base_url"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? id
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        wireFormat = try c.decode(WireFormat.self, forKey: .wireFormat)
        baseURL = try c.decode(String.self, forKey: .baseURL)
        credential = try c.decodeIfPresent(CredentialShape.self, forKey: .credential) ?? .apiKey
        free = try c.decodeIfPresent(Bool.self, forKey: .free) ?? false
        validation = try c.decode(KeyValidation.self, forKey: .validation)
        markupBasisPoints = try c.decodeIfPresent(Int64.self, forKey: .markupBasisPoints)
    }

    /// The `<ID>` part of `KEYGATE_PROVIDER_<ID>_…`: upper-cased, `-` → `_`.
    public var environmentName: String { Self.environmentName(of: id) }

    public static func environmentName(of id: String) -> String {
        id.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}

/// The request/response dialect a provider speaks.
public enum WireFormat: String, Sendable, Hashable, Codable {
    case openAIChat = "openai-chat"
    case openAIResponses = "openai-responses"
    case anthropicMessages = "anthropic-messages"
    case gemini = "gemini"
    case bedrockConverse = "bedrock-converse"
    case azureOpenAI = "azure-openai"
    case azureResponses = "azure-responses"
}

/// What a provider credential looks like.
public enum CredentialShape: String, Sendable, Hashable, Codable {
    /// A single opaque string.
    case apiKey = "api_key"
    /// JSON `{"accessKeyId","secretAccessKey","region"}` with optional `sessionToken`.
    case aws = "aws"
    /// JSON `{"endpoint","apiKey","deploymentName","apiVersion"}`.
    case azure = "azure"
    /// JSON `{"endpoint","apiKey","apiVersion"}`.
    case azureResponses = "azure_responses"
}

/// How to check a credential against its provider: an authenticated, cheap call.
public struct KeyValidation: Sendable, Hashable, Codable {
    public var method: String
    /// Path appended to the base URL (for structured credentials: to the credential's endpoint).
    public var path: String
    /// Where the key goes: `bearer`, `x-api-key`, `x-goog-api-key`, `api-key`, `sigv4`.
    public var auth: String
}
