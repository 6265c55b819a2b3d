/// What changes between two catalogs, model by model: what `keygate catalog diff FILE` prints before an
/// operator puts a new catalog in force.
public struct CatalogDiff: Sendable, Equatable {
    public var addedProviders: [String] = []
    public var removedProviders: [String] = []
    public var added: [ModelSpec] = []
    public var removed: [ModelSpec] = []
    /// Models in both whose prices or limits differ, as (before, after).
    public var changed: [Change] = []

    public struct Change: Sendable, Equatable {
        public var before: ModelSpec
        public var after: ModelSpec
    }

    public init(from old: Catalog, to new: Catalog) {
        let oldProviders = Set(old.providers.map(\.id))
        let newProviders = Set(new.providers.map(\.id))
        addedProviders = new.providers.map(\.id).filter { !oldProviders.contains($0) }
        removedProviders = old.providers.map(\.id).filter { !newProviders.contains($0) }
        let before = Dictionary(old.models.map { (ModelKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.models.map { (ModelKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        for model in new.models {
            if let previous = before[ModelKey(model)] {
                if CatalogListing.fields(previous).map(\.value) != CatalogListing.fields(model).map(\.value) {
                    changed.append(Change(before: previous, after: model))
                }
            } else {
                added.append(model)
            }
        }
        removed = old.models.filter { after[ModelKey($0)] == nil }
    }

    public var isEmpty: Bool { addedProviders.isEmpty && removedProviders.isEmpty && added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// One line per difference: `+` added, `-` removed, `~` changed with each changed field as `old -> new`;
    /// prices in USD per million tokens.
    public var lines: [String] {
        var lines = addedProviders.map { "+ provider \($0)" } + removedProviders.map { "- provider \($0)" }
        lines += added.map { "+ \($0.provider)/\($0.id)  \(CatalogListing.describe($0))" }
        lines += removed.map { "- \($0.provider)/\($0.id)" }
        for change in changed {
            let old = CatalogListing.fields(change.before)
            let new = CatalogListing.fields(change.after)
            let parts = zip(old, new).filter { $0.0.value != $0.1.value }.map { "\($0.0.name) \($0.0.value) -> \($0.1.value)" }
            lines.append("~ \(change.after.provider)/\(change.after.id)  " + parts.joined(separator: ", "))
        }
        return lines
    }

    public var summary: String {
        "\(added.count) added, \(removed.count) removed, \(changed.count) changed models; "
            + "\(addedProviders.count) added, \(removedProviders.count) removed providers"
    }
}
