import KeygateCore

/// The settings that change without a restart (fees, trial policy, packs, tiers, failed-job policy, prices),
/// shared by every part of the gateway that reads them; `ConfigurationReloader` replaces them on SIGHUP.
/// The log level is the other one, held by `LogLevelControl`.
public struct LiveSettings: Sendable {
    public let catalog: Reloadable<Catalog>
    public let creditPolicy: Reloadable<CreditPolicy>
    public let packs: Reloadable<CreditPacks>
    public let jobTiers: Reloadable<[JobTier]>
    public let failedJobPolicy: Reloadable<FailedJobPolicy>

    public init(configuration: GatewayConfiguration, catalog: Catalog, packs: CreditPacks) {
        self.catalog = Reloadable(catalog)
        self.creditPolicy = Reloadable(configuration.creditPolicy)
        self.packs = Reloadable(packs)
        self.jobTiers = Reloadable(configuration.jobTiers)
        self.failedJobPolicy = Reloadable(configuration.failedJobPolicy)
    }
}
