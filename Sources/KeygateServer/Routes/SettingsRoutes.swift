import Hummingbird
import KeygateCore
import KeygateDashboard
import KeygateStore

/// `/api/orgs/{slug}/api-keys` (list, create, revoke), `/settings` (GET, PUT) and `/members` (GET): the JSON
/// face of the settings page, on the same services (`AdminService` as `SettingsActions`, `DashboardAccounts`).
/// A created key's plaintext appears in the creating answer only, never again.
struct SettingsRoutes: Sendable {
    let settings: any SettingsActions
    let accounts: DashboardAccounts
    let bodyLimit = 16 * 1024

    func apiKeys(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        return Response.json(.ok, .array(try await settings.apiKeys(organization: organization).map(Self.listed)))
    }

    /// `{"name"?, "admin"?}` → 201 with the listed form plus `"key"`, the plaintext, shown this once.
    func createAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "an optional name and admin flag")
        var name: String?
        if let value = body["name"], !value.isNull {
            guard let text = value.stringValue else { throw GatewayError.wrongType("name", expected: "a string", found: value.typeName) }
            guard !text.isEmpty, text.count <= 80 else {
                throw GatewayError.invalidValue("name must have 1 to 80 characters.", param: "name")
            }
            name = text
        }
        var isAdmin = false
        if let value = body["admin"], !value.isNull {
            guard let flag = value.boolValue else { throw GatewayError.wrongType("admin", expected: "a boolean", found: value.typeName) }
            isAdmin = flag
        }
        let created = try await settings.createAPIKey(organization: organization, name: name, isAdmin: isAdmin)
        var listed = Self.listed(created.record)
        listed["key"] = .string(created.plaintext)
        return Response.json(.created, listed)
    }

    func revokeAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let id = context.parameters.get("id") ?? ""
        try await settings.revokeAPIKey(organization: organization, keyID: id)
        return Response.json(.ok, .object(["id": .string(id), "revoked": .bool(true)]))
    }

    func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        return Response.json(.ok, Self.listed(try await settings.settings(organization: organization)))
    }

    /// `{"byok_fallback_on_rate_limit": bool}`; a field left out keeps its value.
    func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "byok_fallback_on_rate_limit")
        var current = try await settings.settings(organization: organization)
        if let value = body["byok_fallback_on_rate_limit"], !value.isNull {
            guard let flag = value.boolValue else {
                throw GatewayError.wrongType("byok_fallback_on_rate_limit", expected: "a boolean", found: value.typeName)
            }
            current = try await settings.setBYOKFallbackOnRateLimit(flag, organization: organization)
        }
        return Response.json(.ok, Self.listed(current))
    }

    func members(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let members = try await accounts.members(organizationSlug: organization.slug)
        return Response.json(
            .ok,
            .array(members.map { .object(["user_id": .string($0.user.id), "email": .string($0.user.email), "role": .string($0.role.rawValue)]) }))
    }

    static func listed(_ key: APIKeyRecord) -> JSONValue {
        .object([
            "id": .string(key.id),
            "name": .string(key.name),
            "prefix": .string(key.preview),
            "admin": .bool(key.isAdmin),
            "created_at": .string(Timestamps.iso8601(ms: key.createdAt)),
            "revoked_at": key.revokedAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
        ])
    }

    static func listed(_ settings: OrganizationSettings) -> JSONValue {
        .object(["byok_fallback_on_rate_limit": .bool(settings.byokFallbackOnRateLimit)])
    }
}
