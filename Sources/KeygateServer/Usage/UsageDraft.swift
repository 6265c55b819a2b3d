import Hummingbird
import KeygateCore
import KeygateStore
import Logging

/// What is known about a request as it goes, turned into exactly one usage record and one log line at the
/// end. It moves no money: a call that reached a provider ends in `CallSettlement`, which settles and then
/// hands the record back here.
struct UsageDraft: Sendable {
    let recorder: UsageRecorder
    let caller: AuthenticatedKey
    let requestID: String
    let startedAt: ContinuousClock.Instant
    let logger: Logger
    var model = ""
    var provider = ""
    /// Nil until routing decided who pays.
    var billing: BillingPath?
    var resolved: ResolvedModel?
    /// The fees and estimate rules the call was planned under: its settlement charges by them even if a SIGHUP
    /// replaced them meanwhile (as its model's prices are those of `resolved`).
    var policy: CreditPolicy?
    var stream = false
    var promptBytes = 0
    var byokKeyID: String?
    /// The job the request is billed to (`x-keygate-job`), if any: on its record and in its settlement.
    var jobID: String?
    /// Where the ending is counted (`keygate_requests_total` and the rest); nil counts nothing.
    let metrics: GatewayMetrics?
    /// The route pattern (`/v1/chat/completions`), the `route` label.
    let route: String
    /// The provider's part of the latency (request sent → answer or stream done), once a provider was called.
    var upstreamTime: Duration?

    init(recorder: UsageRecorder, caller: AuthenticatedKey, context: GatewayRequestContext, metrics: GatewayMetrics? = nil) {
        self.recorder = recorder
        self.caller = caller
        self.requestID = context.requestID
        self.startedAt = context.startedAt
        self.logger = context.logger
        self.metrics = metrics
        self.route = context.endpointPath ?? "unmatched"
    }

    mutating func route(_ decision: RouteDecision, byokKeyID: String?) {
        self.byokKeyID = byokKeyID
        resolved = decision.resolved
        model = decision.resolved.publicID
        provider = decision.resolved.provider.id
        billing = decision.billing
    }

    /// Queues the request's usage record (group commit, off the request path) and logs it.
    func record(status: Int, errorCode: String?, tokens: TokenUsage = .zero, timeToFirstToken: Duration? = nil) {
        finish(makeRecord(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken), alreadyStored: false)
    }

    /// Logs the record and, unless the transaction of its charge already stored it, queues it for the usage writer.
    func finish(_ usage: UsageRecord, alreadyStored: Bool) {
        if !alreadyStored { recorder.record(usage) }
        log(usage)
        metrics?.callFinished(
            route: route, record: usage, organizationSlug: caller.organization.slug, total: ContinuousClock.now - startedAt,
            upstream: upstreamTime)
    }

    func makeRecord(
        status: Int, errorCode: String?, tokens: TokenUsage, timeToFirstToken: Duration?,
        credits: MicroCredits = .zero, fee: MicroCredits = .zero
    ) -> UsageRecord {
        let cost = resolved.map { tokens.cost(at: $0.model) } ?? .zero
        return UsageRecord(
            requestID: requestID, organizationID: caller.organization.id, apiKeyID: caller.key.id,
            model: model, provider: provider, byok: billing == .byok, billing: billing, usage: tokens, costUSD: cost,
            creditsCharged: credits, feeCredits: fee,
            latencyMs: (ContinuousClock.now - startedAt).milliseconds, timeToFirstTokenMs: timeToFirstToken?.milliseconds,
            stream: stream, status: status, errorCode: errorCode, createdAt: WallClock.nowMs(), byokKeyID: byokKeyID, jobID: jobID)
    }

    /// The request's log line (one per request, at info). The message stays "chat completion" for every
    /// proxied call: log queries and the SDK checks look for it.
    func log(_ record: UsageRecord) {
        logger.info(
            "chat completion",
            metadata: [
                "model": "\(record.model)", "billing": "\(record.billing?.rawValue ?? "none")", "status": "\(record.status)",
                "input_tokens": "\(record.inputTokens)", "output_tokens": "\(record.outputTokens)",
                "estimated": "\(record.tokensEstimated)", "latency_ms": "\(record.latencyMs)",
                "credits_charged": "\(record.creditsCharged)", "fee_credits": "\(record.feeCredits)",
                "error": "\(record.errorCode ?? "")",
            ])
    }
}
