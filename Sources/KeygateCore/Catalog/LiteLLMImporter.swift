import Foundation

/// Converts LiteLLM's price map (`model_prices_and_context_window.json`, shipped in the `litellm` wheel) into
/// catalog models for Keygate's providers. Prices are facts LiteLLM's users keep current; the operator's own
/// entries (no `source`) are never touched, and their markups are applied to what is imported.
public enum LiteLLMImporter {
    /// The value of `source` on an entry an import owns.
    public static let source = "litellm"

    /// One LiteLLM provider as Keygate's provider(s): the modes taken for each, and whether the model id must
    /// be one plain name (a `/` in it names a region or route LiteLLM prices apart, which Keygate does not call).
    struct Mapping {
        var keygateProvider: String
        var modes: Set<String>
        var plainIDs = false
    }

    /// Providers that make the models they serve: their models come first in the written catalog, so that a
    /// bare model id (`kimi-k3`) resolves to its maker rather than to a host that also serves it.
    static let makers: Set<String> = [
        "openai", "openai-responses", "anthropic", "google", "deepseek", "xai", "mistral", "moonshot", "zhipu", "qwen", "minimax", "xiaomi",
    ]

    /// LiteLLM `litellm_provider` → Keygate provider ids, in the order a duplicate is decided (first wins:
    /// Bedrock's Converse prices before its older invoke ones).
    static let mappings: [(litellm: String, targets: [Mapping])] = [
        (
            "openai",
            [
                Mapping(keygateProvider: "openai", modes: ["chat"], plainIDs: true),
                Mapping(keygateProvider: "openai-responses", modes: ["chat", "responses"], plainIDs: true),
            ]
        ),
        ("anthropic", [Mapping(keygateProvider: "anthropic", modes: ["chat"], plainIDs: true)]),
        ("gemini", [Mapping(keygateProvider: "google", modes: ["chat"], plainIDs: true)]),
        ("bedrock_converse", [Mapping(keygateProvider: "aws", modes: ["chat"], plainIDs: true)]),
        ("bedrock", [Mapping(keygateProvider: "aws", modes: ["chat"], plainIDs: true)]),
        (
            "azure",
            [
                Mapping(keygateProvider: "azure", modes: ["chat"], plainIDs: true),
                Mapping(keygateProvider: "azure-responses", modes: ["chat", "responses"], plainIDs: true),
            ]
        ),
        ("openrouter", [Mapping(keygateProvider: "openrouter", modes: ["chat"])]),
        ("groq", [Mapping(keygateProvider: "groq", modes: ["chat"])]),
        ("together_ai", [Mapping(keygateProvider: "together", modes: ["chat"])]),
        ("fireworks_ai", [Mapping(keygateProvider: "fireworks", modes: ["chat"])]),
        ("deepseek", [Mapping(keygateProvider: "deepseek", modes: ["chat"])]),
        ("xai", [Mapping(keygateProvider: "xai", modes: ["chat"])]),
        ("mistral", [Mapping(keygateProvider: "mistral", modes: ["chat"])]),
        ("cerebras", [Mapping(keygateProvider: "cerebras", modes: ["chat"])]),
        ("nvidia_nim", [Mapping(keygateProvider: "nvidia", modes: ["chat"])]),
        ("sambanova", [Mapping(keygateProvider: "sambanova", modes: ["chat"])]),
        ("hyperbolic", [Mapping(keygateProvider: "hyperbolic", modes: ["chat"])]),
        ("novita", [Mapping(keygateProvider: "novita", modes: ["chat"])]),
        ("chutes", [Mapping(keygateProvider: "chutes", modes: ["chat"])]),
        ("vercel_ai_gateway", [Mapping(keygateProvider: "vercel", modes: ["chat"])]),
        ("moonshot", [Mapping(keygateProvider: "moonshot", modes: ["chat"])]),
        ("zai", [Mapping(keygateProvider: "zhipu", modes: ["chat"])]),
        ("dashscope", [Mapping(keygateProvider: "qwen", modes: ["chat"])]),
        ("minimax", [Mapping(keygateProvider: "minimax", modes: ["chat"])]),
        ("xiaomi_mimo", [Mapping(keygateProvider: "xiaomi", modes: ["chat"])]),
    ]

    /// `current` with every LiteLLM-owned model replaced by what `priceMap` says today. `today` is
    /// `YYYY-MM-DD`: a model LiteLLM marks deprecated before it is left out.
    public static func importing(_ priceMap: Data, into current: Catalog, today: String) throws -> (Catalog, CatalogImportReport) {
        let root: JSONValue
        do {
            root = try JSONValue.decode(priceMap)
        } catch {
            throw CatalogError.unreadable(path: "LiteLLM price map", reason: "not valid JSON: \(error)")
        }
        guard let entries = root.objectValue else {
            throw CatalogError.unreadable(path: "LiteLLM price map", reason: "expected a JSON object of models")
        }
        var report = CatalogImportReport()
        let providerIDs = Set(current.providers.map(\.id))
        let operatorModels = current.models.filter { $0.source != source }
        let operatorKeys = Set(operatorModels.map { ModelKey($0) })
        let previous = Dictionary(current.models.filter { $0.source == source }.map { (ModelKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        let markups = Dictionary(current.providers.compactMap { p in p.markupBasisPoints.map { (p.id, $0) } }, uniquingKeysWith: { a, _ in a })

        var byProvider: [String: [(key: String, value: JSONObject)]] = [:]
        for entry in entries {
            // `sample_spec` documents the fields; it is no model.
            guard entry.key != "sample_spec", let object = entry.value.objectValue else { continue }
            guard let provider = object["litellm_provider"]?.stringValue else { continue }
            byProvider[provider, default: []].append((entry.key, object))
        }
        let known = Set(mappings.map(\.litellm))
        for (provider, list) in byProvider where !known.contains(provider) {
            report.skippedProviders[provider] = list.count
        }

        var imported: [ModelKey: ModelSpec] = [:]
        for (litellmProvider, targets) in mappings {
            for (key, object) in (byProvider[litellmProvider] ?? []).sorted(by: { $0.key < $1.key }) {
                guard let mode = object["mode"]?.stringValue else { continue }
                if let deprecated = object["deprecation_date"]?.stringValue, deprecated.count == 10, deprecated < today {
                    report.skippedDeprecated += 1
                    continue
                }
                var id = key
                if id.hasPrefix(litellmProvider + "/") { id.removeFirst(litellmProvider.count + 1) }
                for target in targets where target.modes.contains(mode) {
                    guard providerIDs.contains(target.keygateProvider) else { continue }
                    if target.plainIDs && (id.contains("/") || id.hasPrefix("ft:")) { continue }
                    // No price, or 0 for both: LiteLLM's placeholder for what it prices otherwise (per second, per
                    // image), never a promise that it costs nothing. A free model is the operator's own entry.
                    guard let input = price(object["input_cost_per_token"]), let output = price(object["output_cost_per_token"]),
                        input.value > 0 || output.value > 0
                    else {
                        report.skippedUnpriced += 1
                        continue
                    }
                    let modelKey = ModelKey(provider: target.keygateProvider, id: id)
                    if imported[modelKey] != nil { continue }
                    if operatorKeys.contains(modelKey) {
                        report.keptOverLiteLLM += 1
                        continue
                    }
                    let markup = previous[modelKey]?.markupBasisPoints ?? markups[target.keygateProvider] ?? 0
                    func marked(_ value: MicroUSD?) -> MicroUSD? { value.map { applying(markup: markup, to: $0) } }
                    var model = ModelSpec(
                        provider: target.keygateProvider, id: id, input: applying(markup: markup, to: input),
                        output: applying(markup: markup, to: output), cachedInput: marked(price(object["cache_read_input_token_cost"])),
                        maxOutputTokens: positive(object["max_output_tokens"]), contextWindow: positive(object["max_input_tokens"]),
                        cacheWrite: marked(price(object["cache_creation_input_token_cost"])),
                        reasoning: marked(price(object["output_cost_per_reasoning_token"])))
                    model.source = source
                    model.markupBasisPoints = previous[modelKey]?.markupBasisPoints
                    imported[modelKey] = model
                }
            }
        }

        let order = Dictionary(current.providers.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        func rank(_ model: ModelSpec) -> (Int, Int, String) {
            (makers.contains(model.provider) ? 0 : 1, order[model.provider] ?? 0, model.id)
        }
        let importedModels = imported.values.sorted { rank($0) < rank($1) }
        for model in importedModels {
            if let before = previous[ModelKey(model)] {
                if before == model { report.unchanged += 1 } else { report.updated += 1 }
            } else {
                report.added += 1
            }
        }
        report.removed = previous.keys.filter { imported[$0] == nil }.count
        report.operatorEntries = operatorModels.count
        return (try Catalog(providers: current.providers, models: operatorModels + importedModels), report)
    }

    /// LiteLLM's USD per token (a JSON number, often with an exponent: `1.25e-06`) as µUSD per million
    /// tokens, exactly: the decimal text is scaled by 10¹², never through a floating-point value. A fraction of
    /// a µUSD left over rounds up (a price is never made lower than its source). Nil for no price or a
    /// negative one.
    public static func microUSDPerMillion(perTokenText text: String) -> MicroUSD? {
        var mantissa = Substring(text)
        var exponent = 0
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(mantissa[mantissa.index(after: e)...].replacingOccurrences(of: "+", with: "")) else { return nil }
            exponent = value
            mantissa = mantissa[..<e]
        }
        guard !mantissa.hasPrefix("-") else { return nil }
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        var digits = Array((whole + fraction).drop(while: { $0 == "0" }))
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        // value = digits × 10^(exponent − fraction.count); µUSD per million = value × 10¹².
        var shift = exponent - fraction.count + 12
        if digits.isEmpty { return MicroUSD(0) }
        var roundUp = false
        while shift < 0 {
            if let last = digits.popLast(), last != "0" { roundUp = true }
            shift += 1
            if digits.isEmpty { break }
        }
        guard shift <= 18, digits.count + shift <= 18 else { return nil }
        var value = Int64(String(digits)) ?? 0
        for _ in 0..<max(shift, 0) { value *= 10 }
        return MicroUSD(roundUp ? value + 1 : value)
    }

    /// `price × (10 000 + markup) / 10 000`, rounded up.
    public static func applying(markup basisPoints: Int64, to price: MicroUSD) -> MicroUSD {
        guard basisPoints > 0 else { return price }
        let (q, r) = (price.value * (10_000 + basisPoints)).quotientAndRemainder(dividingBy: 10_000)
        return MicroUSD(r > 0 ? q + 1 : q)
    }

    static func price(_ value: JSONValue?) -> MicroUSD? {
        guard case .number(let text)? = value else { return nil }
        return microUSDPerMillion(perTokenText: text)
    }

    static func positive(_ value: JSONValue?) -> Int64? {
        guard let number = value?.int64Value, number > 0 else { return nil }
        return number
    }
}
