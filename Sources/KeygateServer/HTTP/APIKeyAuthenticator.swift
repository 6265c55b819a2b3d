import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore
import KeygateVault

/// Authenticates `/v1` calls by Keygate API key (`Authorization: Bearer kg_…`, or `x-api-key` as the
/// Anthropic SDK sends it): one indexed read by lookup id, then a constant-time hash comparison.
struct APIKeyAuthenticator: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let store: any Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Self.presentedKey(in: request) else { throw GatewayError.missingAPIKey }
        guard let lookupID = APIKeyGenerator.lookupID(of: presented),
              let found = try await store.apiKey(lookupID: lookupID),
              APIKeyGenerator.matches(presented, storedHash: found.key.hash),
              !found.key.isRevoked
        else { throw GatewayError.invalidAPIKey }
        var context = context
        context.caller = found
        context.logger[metadataKey: "org"] = .string(found.organization.slug)
        return try await next(request, context)
    }

    static func presentedKey(in request: Request) -> String? {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let key = parts[1].trimmingCharacters(in: .whitespaces)
                return key.isEmpty ? nil : key
            }
            return nil
        }
        if let key = request.headers[HTTPField.Name("x-api-key")!], !key.isEmpty { return key }
        return nil
    }
}
