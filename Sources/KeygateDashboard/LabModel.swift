/// A model the lab can call, by its public id (`provider/model`).
public struct LabModel: Sendable, Hashable {
    public var id: String
    public var provider: String
    public var isFree: Bool

    public init(id: String, provider: String, isFree: Bool) {
        self.id = id
        self.provider = provider
        self.isFree = isFree
    }
}
