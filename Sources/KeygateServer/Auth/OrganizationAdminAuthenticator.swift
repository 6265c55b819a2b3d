import Hummingbird
import KeygateCore

/// Guards `/api/orgs/{slug}/…`: the caller (already authenticated by `APIKeyAuthenticator`) must hold an admin
/// key of that very organisation. Another organisation's slug answers 404, exactly like a slug that does not
/// exist, so that nobody can probe which organisations or key ids exist.
struct OrganizationAdminAuthenticator: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard let caller = context.caller, caller.organization.slug == slug else {
            throw GatewayError(status: 404, type: "invalid_request_error", code: "organization_not_found",
                               message: "No organisation '\(slug)' for this key. Use an admin key of the organisation named in the URL.")
        }
        guard caller.key.isAdmin else {
            throw GatewayError(status: 403, type: "permission_error", code: "admin_key_required",
                               message: "This route needs an admin Keygate key of '\(slug)'. Create one with 'keygate apikey create --org \(slug) --admin'.")
        }
        return try await next(request, context)
    }
}
