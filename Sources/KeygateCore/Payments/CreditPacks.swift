/// The packs on sale, in the operator's order (the order they are shown in). Ids are unique and all packs share
/// one currency (the auto top-up monthly limit is expressed in it); `PackLoader` guarantees both.
public struct CreditPacks: Sendable, Hashable {
    public let packs: [CreditPack]

    public init(packs: [CreditPack]) {
        self.packs = packs
    }

    /// The one currency every pack is priced in.
    public var currency: String { packs.first?.currency ?? "usd" }

    public func pack(id: String) -> CreditPack? {
        packs.first { $0.id == id }
    }
}
