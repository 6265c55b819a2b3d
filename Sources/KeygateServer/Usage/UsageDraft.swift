import Hummingbird
import KeygateCore
import KeygateStore
import Logging

/// What is known about a request as it goes, turned into exactly one usage record at the end.
struct UsageDraft: Sendable {
    let gateway: Gateway
    let caller: AuthenticatedKey
    let requestID: String
    let startedAt: ContinuousClock.Instant
    let logger: Logger
    var model = ""
    var provider = ""
    /// Settles the request's credits (or BYOK fee) for `tokens` and records it, in one transaction; a request
    /// that failed before producing anything gets its whole reservation back instead.
    func settleAndRecord(status: Int, errorCode: String?, tokens: TokenUsage, producedOutput: Bool, timeToFirstToken: Duration? = nil) async -> MicroCredits {
        guard let resolved, let billing, billing != .free else {
            record(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            return .zero
        }
        if billing == .credits && !producedOutput && errorCode != nil {
            let usage = makeRecord(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            keep(usage, written: await gateway.credits.release(requestID: requestID, reason: errorCode ?? "failed", record: usage, logger: logger))
            return .zero
        }
        let (cost, fee) = gateway.credits.charge(for: tokens, model: resolved.model, billing: billing)
        let usage = makeRecord(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken, credits: cost, fee: fee)
        let outcome = await gateway.credits.settle(requestID: requestID, organizationID: caller.organization.id, cost: cost, fee: fee,
                                                   billing: billing, record: usage, logger: logger)
        guard outcome != .failed else {
            // The record says what happened: the work was done, nothing was charged (the sweeper returns the
            // reservation after its lease). It never claims a charge the ledger does not have.
            keep(makeRecord(status: status, errorCode: "settlement_failed", tokens: tokens, timeToFirstToken: timeToFirstToken), written: false)
            return .zero
        }
        keep(usage, written: outcome == .stored)
        return MicroCredits(cost.value + fee.value)
    }

    /// Nil until routing decided who pays.
    var billing: BillingPath?
    var resolved: ResolvedModel?
    var stream = false
    var promptBytes = 0
    var byokKeyID: String?

    init(gateway: Gateway, caller: AuthenticatedKey, context: GatewayRequestContext) {
        self.gateway = gateway
        self.caller = caller
        self.requestID = context.requestID
        self.startedAt = context.startedAt
        self.logger = context.logger
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
        keep(makeRecord(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken), written: false)
    }

    /// Logs the record and, unless the transaction of its charge already stored it, queues it for the usage writer.
    private func keep(_ usage: UsageRecord, written: Bool) {
        if !written { gateway.usage.record(usage) }
        log(usage)
    }

    func makeRecord(status: Int, errorCode: String?, tokens: TokenUsage, timeToFirstToken: Duration?,
                    credits: MicroCredits = .zero, fee: MicroCredits = .zero) -> UsageRecord {
        let cost = resolved.map { tokens.cost(at: $0.model) } ?? .zero
        return UsageRecord(
            requestID: requestID, organizationID: caller.organization.id, apiKeyID: caller.key.id,
            model: model, provider: provider, byok: billing == .byok, billing: billing, usage: tokens, costUSD: cost,
            creditsCharged: credits, feeCredits: fee,
            latencyMs: (ContinuousClock.now - startedAt).milliseconds, timeToFirstTokenMs: timeToFirstToken?.milliseconds,
            stream: stream, status: status, errorCode: errorCode, createdAt: WallClock.nowMs(), byokKeyID: byokKeyID)
    }

    /// The request's log line (one per request, at info).
    func log(_ record: UsageRecord) {
        logger.info("chat completion", metadata: [
            "model": "\(record.model)", "billing": "\(record.billing?.rawValue ?? "none")", "status": "\(record.status)",
            "input_tokens": "\(record.inputTokens)", "output_tokens": "\(record.outputTokens)",
            "estimated": "\(record.tokensEstimated)", "latency_ms": "\(record.latencyMs)",
            "credits_charged": "\(record.creditsCharged)", "fee_credits": "\(record.feeCredits)",
            "error": "\(record.errorCode ?? "")",
        ])
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Runs a proxied request so that every ending leaves exactly one usage record: an error is recorded (and
/// carries the billing path for its header), a client that left is recorded as such.
func withUsageRecord(gateway: Gateway, context: GatewayRequestContext, _ body: (inout UsageDraft) async throws -> Response) async throws -> Response {
    guard let caller = context.caller else { throw GatewayError.invalidAPIKey }
    var usage = UsageDraft(gateway: gateway, caller: caller, context: context)
    do {
        return try await body(&usage)
    } catch let error as GatewayError {
        usage.record(status: error.statusCode, errorCode: error.code ?? error.type)
        throw usage.billing.map { error.billed($0) } ?? error
    } catch WatchdogStop.clientDisconnected {
        usage.record(status: 499, errorCode: "client_disconnected")
        throw GatewayError(status: 499, type: "invalid_request_error", code: "client_disconnected", message: "The client closed the connection.")
    }
}
