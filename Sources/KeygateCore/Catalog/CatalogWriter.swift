import Foundation

/// Writes a catalog as the file `CatalogLoader` reads: one provider and one model per line, so that a
/// regenerated catalog diffs line by line under version control.
public enum CatalogWriter {
    public static func text(_ catalog: Catalog) -> String {
        var out = "{\n  \"providers\": [\n"
        out += catalog.providers.map { "    " + line(provider($0)) }.joined(separator: ",\n")
        out += "\n  ],\n  \"models\": [\n"
        out += catalog.models.map { "    " + line(model($0)) }.joined(separator: ",\n")
        out += "\n  ]\n}\n"
        return out
    }

    static func line(_ object: JSONObject) -> String {
        String(decoding: JSONValue.object(object).encoded(), as: UTF8.self)
    }

    static func provider(_ p: ProviderSpec) -> JSONObject {
        var o: JSONObject = [
            "id": .string(p.id), "name": .string(p.name), "aliases": .array(p.aliases.map { .string($0) }),
            "wire_format": .string(p.wireFormat.rawValue), "base_url": .string(p.baseURL), "credential": .string(p.credential.rawValue),
            "free": .bool(p.free),
            "validation": .object(["method": .string(p.validation.method), "path": .string(p.validation.path), "auth": .string(p.validation.auth)]),
        ]
        if let markup = p.markupBasisPoints { o["markup_basis_points"] = .int(markup) }
        return o
    }

    static func model(_ m: ModelSpec) -> JSONObject {
        var o: JSONObject = [
            "provider": .string(m.provider), "id": .string(m.id), "input": .int(m.input.value), "output": .int(m.output.value),
            "cached_input": .int(m.cachedInput.value),
        ]
        if m.cacheWrite != m.input { o["cache_write"] = .int(m.cacheWrite.value) }
        if let reasoning = m.reasoning { o["reasoning"] = .int(reasoning.value) }
        if let limit = m.maxOutputTokens { o["max_output_tokens"] = .int(limit) }
        if let window = m.contextWindow { o["context_window"] = .int(window) }
        if let paid = m.paidPrice {
            var p: JSONObject = ["input": .int(paid.input.value), "output": .int(paid.output.value)]
            if let cached = paid.cachedInput { p["cached_input"] = .int(cached.value) }
            o["paid_price"] = .object(p)
        }
        if let markup = m.markupBasisPoints { o["markup_basis_points"] = .int(markup) }
        if let source = m.source { o["source"] = .string(source) }
        return o
    }
}
