import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import Synchronization

/// `GET /v1/models` and `GET /v1/models/{id}` in the OpenAI list format. Ids are `provider/model`; a
/// `keygate` object adds the provider, list prices (USD per million tokens, exact decimals) and whether the
/// model is free. The list is rendered once per catalog (again after a SIGHUP replaced it).
struct ModelsRoutes: Sendable {
    let gateway: Gateway
    var catalog: Catalog { gateway.catalog }
    private let rendered = Rendered()

    /// The last rendering and the catalog version it is of.
    private final class Rendered: Sendable {
        let state = Mutex<(version: Int, entries: [(resolved: ResolvedModel, json: JSONValue)])?>(nil)
    }

    init(gateway: Gateway) {
        self.gateway = gateway
    }

    /// Every model with its JSON, rendered once for the catalog in force.
    var entries: [(resolved: ResolvedModel, json: JSONValue)] {
        let (version, catalog) = gateway.live.catalog.versioned
        if let cached = rendered.state.withLock({ $0 }), cached.version == version { return cached.entries }
        let entries = catalog.models.compactMap { model in
            catalog.resolve(model: model.provider + "/" + model.id).map { ($0, Self.entry($0)) }
        }
        rendered.state.withLock { $0 = (version, entries) }
        return entries
    }

    /// How the caller's organisation would pay for each model right now: `byok` (it has an active key for
    /// the provider), `free`, or `credits`; and whether it can be called (a key, the org's or the platform's).
    private func routed(_ entry: (resolved: ResolvedModel, json: JSONValue), keys: [String: Bool]) -> JSONValue {
        var json = entry.json
        let provider = entry.resolved.provider
        let route = RouteDecision.decide(for: entry.resolved, organizationHasKey: keys[provider.id] ?? false)
        let callable = route.billing == .byok || gateway.configuration.platformKeys[provider.id] != nil
        json["keygate"]?["route"] = .string(route.billing.rawValue)
        json["keygate"]?["available"] = .bool(callable)
        return json
    }

    static func entry(_ resolved: ResolvedModel) -> JSONValue {
        var keygate: JSONObject = [
            "provider": .string(resolved.provider.id),
            "provider_model": .string(resolved.model.id),
            "free": .bool(resolved.isFree),
            "pricing_usd_per_million_tokens": .object([
                "input": .string(DecimalFormat.string(resolved.model.input.value, scale: 6)),
                "cached_input": .string(DecimalFormat.string(resolved.model.cachedInput.value, scale: 6)),
                "output": .string(DecimalFormat.string(resolved.model.output.value, scale: 6)),
            ]),
        ]
        if let limit = resolved.model.maxOutputTokens { keygate["max_output_tokens"] = .int(limit) }
        if let window = resolved.model.contextWindow { keygate["context_window"] = .int(window) }
        return .object([
            "id": .string(resolved.publicID),
            "object": .string("model"),
            "created": .int(0),
            "owned_by": .string(resolved.provider.id),
            "keygate": .object(keygate),
        ])
    }

    func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let keys = try await organizationKeys(context)
        let list: JSONValue = .object(["object": .string("list"), "data": .array(entries.map { routed($0, keys: keys) })])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .keygateBilling: BillingHeader.none],
            body: .init(byteBuffer: ByteBuffer(bytes: list.encoded())))
    }

    /// Which providers the caller's organisation has a usable key for (one cached lookup per provider).
    private func organizationKeys(_ context: GatewayRequestContext) async throws -> [String: Bool] {
        guard let caller = context.caller else { return [:] }
        var keys: [String: Bool] = [:]
        for provider in catalog.providers {
            keys[provider.id] = try await gateway.byokKeys.key(organizationID: caller.organization.id, provider: provider.id) != nil
        }
        return keys
    }

    func retrieve(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        // Model ids contain slashes, so the id is everything after /v1/models/.
        let id = String(request.uri.path.dropFirst("/v1/models/".count)).removingPercentEncoding ?? ""
        guard let resolved = catalog.resolve(model: id) else { throw GatewayError.modelNotFound(id) }
        let body = routed((resolved, Self.entry(resolved)), keys: try await organizationKeys(context)).encoded()
        return Response(
            status: .ok, headers: [.contentType: "application/json", .keygateBilling: BillingHeader.none],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
