import Hummingbird
import KeygateCore

/// Authenticates `/api/admin/…` by operator token (`Authorization: Bearer kgop_…`): none is a 401; anything
/// else that is not an active operator token (an organisation's API key, a revoked or made-up token) is a 403.
/// The token is looked up on every request (no cache): a revocation takes effect at once.
struct OperatorAuthenticator: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let tokens: OperatorTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[.authorization] != nil, let presented = APIKeyAuthenticator.presentedKey(in: request) else {
            throw GatewayError.operatorTokenRequired
        }
        guard let token = try await tokens.authenticate(presented) else { throw GatewayError.operatorTokenInvalid }
        var context = context
        context.operatorToken = token
        context.logger[metadataKey: "operator"] = .string(token.name)
        return try await next(request, context)
    }
}
