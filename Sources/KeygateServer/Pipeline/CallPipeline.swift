import Hummingbird
import KeygateCore
import KeygateProviders
import KeygateStore

/// The one way a request reaches a provider: plan (who pays, which key), reserve, exchange, settle, with the
/// BYOK rate-limit fallback and the credential-rejection rule, the same on every route.
struct CallPipeline: Sendable {
    let planner: CallPlanner
    let exchange: UpstreamExchange
    let recorder: UsageRecorder
    let metrics: GatewayMetrics

    init(gateway: Gateway) {
        let settlement = CallSettlement(credits: gateway.credits, topUps: gateway.autoTopUp)
        self.planner = CallPlanner(gateway: gateway)
        self.exchange = UpstreamExchange(
            configuration: gateway.configuration, upstream: gateway.upstream, settlement: settlement,
            byokService: BYOKService(gateway: gateway), metrics: gateway.metrics, shutdown: gateway.shutdownDeadline)
        self.recorder = gateway.usage
        self.metrics = gateway.metrics
    }

    /// Notes what the caller asked for on the usage record (kept even if the model is unknown), then finds the
    /// provider that serves the model: the forced one (`x-byok-provider`), else the catalog's.
    func resolve(_ body: CallBody, forcedProvider: String?, usage: inout UsageDraft) throws(GatewayError) -> ResolvedModel {
        usage.model = body.model
        usage.stream = body.stream
        usage.promptBytes = body.promptBytes
        return try planner.resolve(model: body.model, forcedProvider: forcedProvider)
    }

    /// Runs the call on the provider that serves `resolved` (from `resolve`). When the organisation's own key
    /// is rate limited and it opted in, the call is tried once more on the platform key.
    func run(
        _ body: CallBody, resolved: ResolvedModel, forced: Bool, context: GatewayRequestContext,
        usage: inout UsageDraft
    ) async throws -> Response {
        usage.model = body.model
        usage.stream = body.stream
        usage.promptBytes = body.promptBytes
        let organization = usage.caller.organization
        let route = try await planner.route(for: resolved, forced: forced, organization: organization)
        do {
            return try await attempt(body, route: route, context: context, usage: &usage)
        } catch let error as GatewayError where route.billing == .byok && error.statusCode == 429 {
            guard let fallback = try await planner.rateLimitFallback(for: route, organization: organization) else { throw error }
            context.logger.info("BYOK key rate limited: falling back to credits", metadata: ["provider": "\(route.provider)"])
            return try await attempt(body, route: fallback, context: context, usage: &usage)
        }
    }

    /// One call on one route: its credential, its reservation (returned whole if nothing was produced), the exchange.
    private func attempt(_ body: CallBody, route: PlannedRoute, context: GatewayRequestContext, usage: inout UsageDraft) async throws -> Response {
        usage.route(route.decision, byokKeyID: route.byokKey?.id)
        let policy = planner.credits.policy
        usage.policy = policy
        let call = try planner.credential(for: route, requestedModel: body.model, policy: policy)
        try await planner.reserve(
            call, for: body, requestID: usage.requestID, organization: usage.caller.organization, jobID: usage.jobID, policy: policy)
        do {
            return try await exchange.run(body, call: call, context: context, usage: &usage)
        } catch {
            await planner.releaseReservation(of: call, requestID: usage.requestID, jobID: usage.jobID, after: error, logger: context.logger)
            throw error
        }
    }

    /// Runs a proxied request so that every ending leaves exactly one usage record: an error is recorded (and
    /// carries the billing path for its header), a client that left is recorded as such.
    func withUsageRecord(
        context: GatewayRequestContext, jobID: String? = nil, _ body: (inout UsageDraft) async throws -> Response
    ) async throws -> Response {
        let caller = try context.requireCaller()
        var usage = UsageDraft(recorder: recorder, caller: caller, context: context, metrics: metrics)
        usage.jobID = jobID
        do {
            return try await body(&usage)
        } catch let error as GatewayError {
            // A job that is not the organisation's is not named on its record (nor counted in that job's figures).
            if error.code == "job_not_found" { usage.jobID = nil }
            usage.record(status: error.statusCode, errorCode: error.code ?? error.type)
            throw usage.billing.map { error.billed($0) } ?? error
        } catch WatchdogStop.clientDisconnected {
            usage.record(status: 499, errorCode: "client_disconnected")
            throw GatewayError.clientDisconnected
        }
    }
}
