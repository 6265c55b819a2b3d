/// What `keygate catalog import` did, for the operator to read before restarting on the new file.
public struct CatalogImportReport: Sendable, Equatable {
    /// Imported models the catalog did not have before, whose prices changed, and that stayed the same.
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    /// Models a previous import added that LiteLLM no longer lists (or now marks deprecated).
    public var removed = 0
    /// The operator's own entries, kept as they are.
    public var operatorEntries = 0
    /// LiteLLM models an operator entry of the same provider and id stands in for.
    public var keptOverLiteLLM = 0
    public var skippedDeprecated = 0
    /// Chat models LiteLLM lists without an input or output price per token, or with 0 for both.
    public var skippedUnpriced = 0
    /// LiteLLM providers Keygate does not serve, with how many entries each had.
    public var skippedProviders: [String: Int] = [:]

    public init() {}

    /// One paragraph of lines.
    public var summary: String {
        var lines = [
            "added \(added), updated \(updated), unchanged \(unchanged), removed \(removed) LiteLLM models",
            "kept \(operatorEntries) operator entries (standing in for \(keptOverLiteLLM) LiteLLM models)",
            "skipped \(skippedDeprecated) deprecated and \(skippedUnpriced) unpriced models",
        ]
        if !skippedProviders.isEmpty {
            let total = skippedProviders.values.reduce(0, +)
            lines.append("skipped \(total) entries of \(skippedProviders.count) providers Keygate does not serve")
        }
        return lines.joined(separator: "\n")
    }
}
