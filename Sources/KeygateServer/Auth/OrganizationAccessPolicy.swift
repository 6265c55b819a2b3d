import Hummingbird
import KeygateCore
import KeygateDashboard
import KeygateStore

/// Guards `/api/orgs/{slug}/…`, the one place that says who may do what there:
/// - an admin Keygate key of that very organisation may do anything (a key is checked whenever one is
///   presented, by `APIKeyAuthenticator`);
/// - without a key, a dashboard session of a member of that organisation may read (GET, HEAD); only an admin
///   member may change (POST, PUT, PATCH, DELETE), and then only with the session's `X-CSRF-Token` and no
///   foreign `Origin`.
/// Another organisation's slug answers 404, exactly like a slug that does not exist, so that nobody can probe
/// which organisations or key ids exist. It authenticates nobody itself.
struct OrganizationAccessPolicy: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let keys: APIKeyAuthenticator
    let dashboard: DashboardRoutes<GatewayRequestContext>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        if APIKeyAuthenticator.presentedKey(in: request) == nil, let user = try await dashboard.signedIn(request) {
            guard let membership = user.membership(slug: slug) else { throw GatewayError.organizationNotFound(slug, in: .member) }
            if !Self.isRead(request.method) {
                guard membership.role == .admin else { throw GatewayError.organizationAdminRequired(organization: slug) }
                guard dashboard.writeAllowed(request, by: user) else { throw GatewayError.csrfRejected }
            }
            var context = context
            context.organization = membership.organization
            context.logger[metadataKey: "org"] = .string(slug)
            return try await next(request, context)
        }
        return try await keys.handle(request, context: context) { request, context in
            guard let caller = context.caller, caller.organization.slug == slug else {
                throw GatewayError.organizationNotFound(slug, in: .callerKey)
            }
            guard caller.key.isAdmin else { throw GatewayError.adminKeyRequired(organization: slug) }
            var context = context
            context.organization = caller.organization
            return try await next(request, context)
        }
    }

    static func isRead(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head
    }
}
