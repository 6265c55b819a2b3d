import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore

/// `GET /v1/models` and `GET /v1/models/{id}` in the OpenAI list format. Ids are `provider/model`; a
/// `keygate` object adds the provider, list prices (USD per million tokens, exact decimals) and whether the
/// model is free. The catalog is fixed while the server runs, so the list is rendered once.
struct ModelsRoute: Sendable {
    let catalog: Catalog
    let listBody: ByteBuffer

    init(catalog: Catalog) {
        self.catalog = catalog
        let data: [JSONValue] = catalog.models.compactMap { model in
            catalog.resolve(model: model.provider + "/" + model.id).map(Self.entry)
        }
        let list: JSONValue = .object(["object": .string("list"), "data": .array(data)])
        listBody = ByteBuffer(bytes: list.encoded())
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
        Response(status: .ok, headers: [.contentType: "application/json", .keygateBilling: BillingHeader.none], body: .init(byteBuffer: listBody))
    }

    func retrieve(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        // Model ids contain slashes, so the id is everything after /v1/models/.
        let id = String(request.uri.path.dropFirst("/v1/models/".count)).removingPercentEncoding ?? ""
        guard let resolved = catalog.resolve(model: id) else { throw GatewayError.modelNotFound(id) }
        let body = Self.entry(resolved).encoded()
        return Response(status: .ok, headers: [.contentType: "application/json", .keygateBilling: BillingHeader.none],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
