/// A named size of job (SPEC §5, `KEYGATE_TIERS`): what such a job typically costs and the range it should fall
/// in. A job opened by tier reserves the upper bound, so a job of that tier never runs out half-way.
public struct JobTier: Sendable, Hashable {
    public var name: String
    public var typical: MicroCredits
    public var minimum: MicroCredits
    public var maximum: MicroCredits

    public init(name: String, typical: MicroCredits, minimum: MicroCredits, maximum: MicroCredits) {
        self.name = name
        self.typical = typical
        self.minimum = minimum
        self.maximum = maximum
    }
}
