import Foundation

/// The providers and models Keygate knows, with list prices. Loaded at start-up from the built-in
/// `catalog.json` (or `KEYGATE_CATALOG`), and again on SIGHUP as a new value: each value is read-only, safe to
/// share between requests without locks (the gateway swaps the whole value, see `Reloadable`).
public struct Catalog: Sendable {
    public let providers: [ProviderSpec]
    public let models: [ModelSpec]
    private let providersByName: [String: ProviderSpec]
    private let modelsByProvider: [String: [String: ModelSpec]]
    private let modelsByBareID: [String: ModelSpec]

    public init(providers: [ProviderSpec], models: [ModelSpec]) throws {
        var byName: [String: ProviderSpec] = [:]
        for (index, provider) in providers.enumerated() {
            if let markup = provider.markupBasisPoints, markup < 0 {
                throw CatalogError.invalid(field: "providers[\(index)].markup_basis_points", reason: "a markup cannot be negative")
            }
            for name in [provider.id] + provider.aliases {
                if byName[name] != nil {
                    throw CatalogError.invalid(field: "providers[\(index)]", reason: "provider id or alias '\(name)' is listed twice")
                }
                byName[name] = provider
            }
        }
        var byProvider: [String: [String: ModelSpec]] = [:]
        var byBare: [String: ModelSpec] = [:]
        for (index, model) in models.enumerated() {
            guard let provider = byName[model.provider] else {
                throw CatalogError.invalid(field: "models[\(index)].provider", reason: "unknown provider '\(model.provider)'")
            }
            if model.id.isEmpty {
                throw CatalogError.invalid(field: "models[\(index)].id", reason: "must not be empty")
            }
            for (name, price) in [
                ("input", model.input), ("output", model.output), ("cached_input", model.cachedInput), ("cache_write", model.cacheWrite),
                ("reasoning", model.reasoning ?? .zero),
            ] where price.value < 0 {
                throw CatalogError.invalid(field: "models[\(index)].\(name)", reason: "a price cannot be negative")
            }
            if let markup = model.markupBasisPoints, markup < 0 {
                throw CatalogError.invalid(field: "models[\(index)].markup_basis_points", reason: "a markup cannot be negative")
            }
            if let limit = model.maxOutputTokens, limit <= 0 {
                throw CatalogError.invalid(field: "models[\(index)].max_output_tokens", reason: "must be positive")
            }
            if byProvider[provider.id]?[model.id] != nil {
                throw CatalogError.invalid(field: "models[\(index)].id", reason: "model '\(model.id)' is listed twice for provider '\(provider.id)'")
            }
            byProvider[provider.id, default: [:]][model.id] = model
            // The first provider listed for a bare model id is the one a bare name resolves to.
            if byBare[model.id] == nil { byBare[model.id] = model }
        }
        self.providers = providers
        self.models = models
        self.providersByName = byName
        self.modelsByProvider = byProvider
        self.modelsByBareID = byBare
    }

    /// A provider by id or alias (`gemini` → `google`).
    public func provider(named name: String) -> ProviderSpec? { providersByName[name] }

    /// Resolves what a client wrote in `model`: `provider/model` (provider id or alias, e.g.
    /// `groq/openai/gpt-oss-120b`) or a bare model id (`gpt-5.6-sol`, `openai/gpt-oss-120b`).
    /// A `provider/` prefix wins when it names a provider that lists the rest as a model.
    public func resolve(model requested: String) -> ResolvedModel? {
        if let slash = requested.firstIndex(of: "/") {
            let prefix = String(requested[..<slash])
            let rest = String(requested[requested.index(after: slash)...])
            if let provider = providersByName[prefix], let model = modelsByProvider[provider.id]?[rest] {
                return ResolvedModel(provider: provider, model: model)
            }
        }
        if let model = modelsByBareID[requested], let provider = providersByName[model.provider] {
            return ResolvedModel(provider: provider, model: model)
        }
        return nil
    }
}

extension Catalog {
    /// Resolves a model on a provider the caller chose (`x-byok-provider`). The name may carry that
    /// provider's prefix; a model the catalog does not list there is passed through as named, priced at
    /// the list price of the same model on another provider when the catalog has one (for fees).
    public func resolve(model requested: String, on provider: ProviderSpec) -> ResolvedModel {
        var name = requested
        for prefix in [provider.id] + provider.aliases where name.hasPrefix(prefix + "/") {
            name = String(name.dropFirst(prefix.count + 1))
            break
        }
        if let listed = resolve(model: provider.id + "/" + name), listed.provider.id == provider.id {
            return listed
        }
        let listPrice = resolve(model: requested)?.model ?? resolve(model: name)?.model
        let model = ModelSpec(
            provider: provider.id, id: name, input: listPrice?.input ?? .zero, output: listPrice?.output ?? .zero,
            cachedInput: listPrice?.cachedInput, maxOutputTokens: listPrice?.maxOutputTokens,
            contextWindow: listPrice?.contextWindow, cacheWrite: listPrice?.cacheWrite, reasoning: listPrice?.reasoning)
        return ResolvedModel(provider: provider, model: model, isCatalogued: false, hasListPrice: listPrice != nil)
    }
}

/// A model resolved to the provider that serves it.
public struct ResolvedModel: Sendable {
    public let provider: ProviderSpec
    public let model: ModelSpec
    /// False for a model the catalog does not list for this provider, reached through `x-byok-provider`
    /// (e.g. any model OpenRouter serves); its prices are the list prices of the same model elsewhere, if any.
    public var isCatalogued = true
    /// False for an uncatalogued model whose price the catalog does not know anywhere: a fee on it would be 0.
    public var hasListPrice = true

    public init(provider: ProviderSpec, model: ModelSpec, isCatalogued: Bool = true, hasListPrice: Bool = true) {
        self.provider = provider
        self.model = model
        self.isCatalogued = isCatalogued
        self.hasListPrice = hasListPrice
    }
    /// The stable public name: `provider/model`.
    public var publicID: String { provider.id + "/" + model.id }
    /// Free when the provider is free or the model has no price at all.
    public var isFree: Bool { isCatalogued && (provider.free || model.isZeroPriced) }
}

public enum CatalogError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "catalog \(path): \(reason)"
        case .invalid(let field, let reason): return "catalog field \(field): \(reason)"
        }
    }
}
