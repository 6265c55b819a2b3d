import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore

/// `/api/orgs/{slug}/byok-keys`: list, add, deactivate, activate, delete an organisation's own provider keys.
/// Keys appear only in their listed form: id, provider, preview, status, times. Never the secret.
struct BYOKKeysRoutes: Sendable {
    let service: BYOKService
    let bodyLimit = 64 * 1024

    func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let keys = try await service.list(organizationSlug: slug(context))
        return Response.json(.ok, .array(keys.map(Self.listed)))
    }

    func add(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "provider and secret")
        guard let providerValue = body["provider"], !providerValue.isNull else {
            throw GatewayError.missingField("provider", expected: "a provider id such as anthropic")
        }
        guard let provider = providerValue.stringValue else {
            throw GatewayError.wrongType("provider", expected: "a string", found: providerValue.typeName)
        }
        guard let secret = body["secret"], !secret.isNull else {
            throw GatewayError.missingField("secret", expected: "the key (a string, or an object for aws and azure)")
        }
        var validate = true
        if let flag = body["validate"], !flag.isNull {
            guard let value = flag.boolValue else { throw GatewayError.wrongType("validate", expected: "a boolean", found: flag.typeName) }
            validate = value
        }
        let key = try await service.add(organizationSlug: slug(context), provider: provider, secret: secret, validate: validate)
        return Response.json(.created, Self.listed(key))
    }

    func deactivate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        Response.json(.ok, Self.listed(try await service.setActive(organizationSlug: slug(context), keyID: keyID(context), active: false)))
    }

    func activate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        Response.json(.ok, Self.listed(try await service.setActive(organizationSlug: slug(context), keyID: keyID(context), active: true)))
    }

    func delete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = keyID(context)
        try await service.remove(organizationSlug: slug(context), keyID: id)
        return Response.json(.ok, .object(["id": .string(id), "deleted": .bool(true)]))
    }

    private func slug(_ context: GatewayRequestContext) -> String { context.parameters.get("slug") ?? "" }
    private func keyID(_ context: GatewayRequestContext) -> String { context.parameters.get("id") ?? "" }

    static func listed(_ key: BYOKKeyRecord) -> JSONValue {
        .object([
            "id": .string(key.id),
            "provider": .string(key.provider),
            "preview": .string(key.preview),
            "status": .string(key.status.rawValue),
            "created_at": .string(Timestamps.iso8601(ms: key.createdAt)),
            "last_used_at": key.lastUsedAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
            "last_validated_at": key.lastValidatedAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
            "last_validation_result": key.lastValidationResult.map(JSONValue.string) ?? .null,
        ])
    }
}
