import KeygateCore
import KeygateProviders
import KeygateStore
import Logging

/// Decides how a call runs (SPEC §4): model → provider → the organisation's key → who pays → credential →
/// reservation. Every route that calls a provider plans here, so the rules hold on all of them.
struct CallPlanner: Sendable {
    /// The catalog in force: read per request, so a SIGHUP's prices apply from the next one.
    let catalogSource: Reloadable<Catalog>
    var catalog: Catalog { catalogSource.value }
    let byokKeys: BYOKKeyCache
    let platformKeys: [String: String]
    let settings: any OrganizationStore
    let credits: CreditMeter

    init(gateway: Gateway) {
        catalogSource = gateway.live.catalog
        byokKeys = gateway.byokKeys
        platformKeys = gateway.configuration.platformKeys
        settings = gateway.store
        credits = gateway.credits
    }

    /// The model on the provider the caller forces (`x-byok-provider`, any model name passed to it), else on
    /// the catalog's provider for it.
    func resolve(model: String, forcedProvider: String?) throws(GatewayError) -> ResolvedModel {
        if let forcedProvider {
            guard let provider = catalog.provider(named: forcedProvider) else { throw GatewayError.unknownBYOKProvider(forcedProvider) }
            return catalog.resolve(model: model, on: provider)
        }
        guard let listed = catalog.resolve(model: model) else { throw GatewayError.modelNotFound(model) }
        return listed
    }

    /// Who pays: the organisation's own key for the provider, else the platform (a free model, or credits).
    /// A forced provider without the organisation's key is refused: forcing means "on my key".
    func route(for resolved: ResolvedModel, forced: Bool, organization: Organization) async throws -> PlannedRoute {
        let byokKey = try await byokKeys.key(organizationID: organization.id, provider: resolved.provider.id)
        if forced && byokKey == nil {
            throw GatewayError.byokKeyRequired(provider: resolved.provider.id, organization: organization.slug)
        }
        return PlannedRoute(
            decision: .decide(for: resolved, organizationHasKey: byokKey != nil), byokKey: byokKey,
            adapter: WireAdapters.adapter(for: resolved.provider.wireFormat))
    }

    /// The route to retry on after the organisation's own key was rate limited: the platform's, if the
    /// organisation opted in (`byok_fallback_on_rate_limit`); nil otherwise.
    func rateLimitFallback(for route: PlannedRoute, organization: Organization) async throws -> PlannedRoute? {
        guard route.billing == .byok,
            try await settings.organizationSettings(organizationID: organization.id).byokFallbackOnRateLimit
        else { return nil }
        return PlannedRoute(decision: .decide(for: route.resolved, organizationHasKey: false), byokKey: nil, adapter: route.adapter)
    }

    /// The credential the route runs on: the organisation's key, else the platform key for the provider.
    func credential(for route: PlannedRoute, requestedModel: String, policy: CreditPolicy) throws(GatewayError) -> PlannedCall {
        if let byokKey = route.byokKey {
            // A fee priced from a model the catalog prices nowhere would be 0: refused, never billed at 0.
            if !route.resolved.hasListPrice && policy.byokFeeBasisPoints > 0 {
                throw GatewayError.modelNotFound(requestedModel, unpricedOn: route.provider)
            }
            return PlannedCall(route: route, credential: byokKey.secret)
        }
        // An uncatalogued model runs only on the organisation's own key: the platform never pays for it.
        guard route.resolved.isCatalogued else { throw GatewayError.modelNotFound(requestedModel) }
        guard let platformKey = platformKeys[route.provider] else { throw GatewayError.providerNotConfigured(provider: route.provider) }
        return PlannedCall(route: route, credential: platformKey)
    }

    /// Holds the call's estimate when credits pay for it (402 when it does not fit), from the job's hold when
    /// it names one; otherwise holds nothing, but a named job must still be the organisation's and open.
    func reserve(
        _ call: PlannedCall, for body: CallBody, requestID: String, organization: Organization, jobID: String?, policy: CreditPolicy
    ) async throws {
        guard call.route.billing == .credits else {
            if let jobID { try await credits.checkJob(jobID, organization: organization) }
            return
        }
        try await credits.reserve(
            requestID: requestID, organization: organization,
            estimate: body.estimate(model: call.route.resolved.model, policy: policy), provider: call.route.provider, jobID: jobID)
    }

    /// Returns a reservation whose call produced nothing.
    func releaseReservation(of call: PlannedCall, requestID: String, jobID: String?, after error: any Error, logger: Logger) async {
        guard call.route.billing == .credits else { return }
        await credits.release(requestID: requestID, jobID: jobID, reason: (error as? GatewayError)?.code ?? "failed", logger: logger)
    }
}
