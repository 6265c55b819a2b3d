import KeygateCore
import KeygateProviders

/// Who pays for a call and with which key: the planner's answer, before any credential is chosen.
struct PlannedRoute: Sendable {
    let decision: RouteDecision
    /// The organisation's key for the provider, when it pays (BYOK).
    let byokKey: UsableBYOKKey?
    /// The wire format of the provider.
    let adapter: any WireAdapter

    var resolved: ResolvedModel { decision.resolved }
    var billing: BillingPath { decision.billing }
    var provider: String { decision.resolved.provider.id }
}

/// A route with its credential: everything needed to build the upstream request.
struct PlannedCall: Sendable {
    let route: PlannedRoute
    /// The BYOK secret or the platform key. Never logged, never in an error (adapters scrub it).
    let credential: String
}
