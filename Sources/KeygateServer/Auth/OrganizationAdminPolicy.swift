import Hummingbird
import KeygateCore

/// Guards `/api/orgs/{slug}/…`: the caller (already authenticated by `APIKeyAuthenticator`) must hold an admin
/// key of that very organisation. An authorization policy, in hummingbird-auth's words: it authenticates
/// nobody. Another organisation's slug answers 404, exactly like a slug that does not exist, so that nobody
/// can probe which organisations or key ids exist.
struct OrganizationAdminPolicy: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard let caller = context.caller, caller.organization.slug == slug else {
            throw GatewayError.organizationNotFound(slug, in: .callerKey)
        }
        guard caller.key.isAdmin else { throw GatewayError.adminKeyRequired(organization: slug) }
        return try await next(request, context)
    }
}
