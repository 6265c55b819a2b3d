import Hummingbird
import KeygateCore
import KeygateDashboard
import KeygateStore

/// `POST /{slug}/lab/chat`: the lab page's messages, answered by the gateway's own `/v1/chat/completions`
/// handler, so they are routed, billed and recorded exactly like an application's. The caller is a dashboard
/// session instead of a Bearer key: an admin of the organisation (a lab message spends credits), with the
/// session's `X-CSRF-Token` and no foreign `Origin`. Each admin's messages are attributed to their own API key
/// named "Dashboard lab (email)", made on first use; only its hash is stored and its plaintext is never shown,
/// so it calls nothing outside the lab. Revoking it in settings is fine: the next message makes a new one.
struct LabChatRoute: Sendable {
    let dashboard: DashboardRoutes<GatewayRequestContext>
    let chat: ChatCompletionsRoute
    let admin: AdminService
    /// A suspended organisation's lab is refused as its `/v1` calls are.
    let suspensions: SuspensionCache

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard let user = try await dashboard.signedIn(request) else { throw GatewayError.signInRequired }
        guard let membership = user.membership(slug: slug) else { throw GatewayError.organizationNotFound(slug, in: .member) }
        guard membership.role == .admin else { throw GatewayError.organizationAdminRequired(organization: slug) }
        guard dashboard.writeAllowed(request, by: user) else { throw GatewayError.csrfRejected }
        if try await suspensions.suspension(organizationID: membership.organization.id) != nil {
            throw GatewayError.organizationSuspended(slug)
        }
        var context = context
        context.caller = AuthenticatedKey(key: try await labKey(for: user, in: membership.organization), organization: membership.organization)
        context.logger[metadataKey: "org"] = .string(slug)
        return try await chat.handle(request, context: context)
    }

    /// The user's lab key in the organisation: the active one with its name, else a new one.
    func labKey(for user: SignedInUser, in organization: Organization) async throws -> APIKeyRecord {
        let name = "Dashboard lab (\(user.user.email))"
        if let key = try await admin.store.apiKeys(organizationID: organization.id).first(where: { $0.name == name && !$0.isRevoked }) {
            return key
        }
        return try await admin.createAPIKey(organizationSlug: organization.slug, name: name, isAdmin: false).record
    }
}
