/// What the completed jobs of one tier really cost (the tiers report, SPEC §5): count, median, 90th
/// percentile and maximum of their charged credits, and what the same tokens cost at list price. Percentiles
/// are nearest-rank (the smallest value with at least p % of the jobs at or below it), so every figure is
/// the cost of a real job, in exact µcredits.
public struct TierCostStatistics: Sendable, Hashable {
    public var count: Int
    public var median: MicroCredits
    public var p90: MicroCredits
    public var maximum: MicroCredits
    /// The charged credits of all the jobs together.
    public var totalCharged: MicroCredits
    /// The same jobs' tokens at the models' list prices (what the organisation would pay the providers with
    /// its own keys, before any fee), in credits rounded up.
    public var listPrice: MicroCredits

    public init(charged: [MicroCredits], listPrice: PicoUSD) {
        let sorted = charged.map(\.value).sorted()
        func rank(_ percent: Int) -> MicroCredits {
            guard !sorted.isEmpty else { return .zero }
            let index = (percent * sorted.count + 99) / 100 - 1
            return MicroCredits(sorted[max(0, min(index, sorted.count - 1))])
        }
        count = sorted.count
        median = rank(50)
        p90 = rank(90)
        maximum = MicroCredits(sorted.last ?? 0)
        totalCharged = MicroCredits(sorted.reduce(0, +))
        self.listPrice = listPrice.microCreditsRoundedUp
    }
}
