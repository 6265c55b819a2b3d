/// A model's identity in a catalog: provider and the provider's model id.
struct ModelKey: Hashable {
    var provider: String
    var id: String

    init(provider: String, id: String) {
        self.provider = provider
        self.id = id
    }

    init(_ model: ModelSpec) { self.init(provider: model.provider, id: model.id) }
}
