/// Who pays for a request, shown to the caller in `x-keygate-billing` and kept in the usage record.
public enum BillingPath: String, Sendable, Hashable {
    /// The organisation's own provider key; the provider bills the organisation.
    case byok
    /// The platform's provider key, metered against the organisation's credits.
    case credits
    /// The platform's provider key on a model with no price: nothing is charged.
    case free
}

/// The routing decision for one request (SPEC §4). Pure: everything it needs is passed in.
public struct RouteDecision: Sendable {
    public let resolved: ResolvedModel
    public let billing: BillingPath

    /// SPEC §4: the organisation's own key for the provider wins; else a free model runs on the platform
    /// account without charge; else the platform key, billed in credits.
    public static func decide(for resolved: ResolvedModel, organizationHasKey: Bool) -> RouteDecision {
        if organizationHasKey { return RouteDecision(resolved: resolved, billing: .byok) }
        return RouteDecision(resolved: resolved, billing: resolved.isFree ? .free : .credits)
    }
}
