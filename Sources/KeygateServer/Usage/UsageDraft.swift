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
    /// Settles the request's credits (or BYOK fee) for `tokens` and records it; a request that failed before
    /// producing anything gets its whole reservation back instead.
    func settleAndRecord(status: Int, errorCode: String?, tokens: TokenUsage, producedOutput: Bool, timeToFirstToken: Duration? = nil) async -> MicroCredits {
        guard let resolved, let billing else {
            record(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            return .zero
        }
        if billing == .credits && !producedOutput && errorCode != nil {
            await gateway.credits.release(requestID: requestID, reason: errorCode ?? "failed", logger: logger)
            record(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            return .zero
        }
        let (cost, fee) = await gateway.credits.settle(requestID: requestID, organizationID: caller.organization.id, tokens: tokens,
                                                       model: resolved.model, billing: billing, logger: logger)
        record(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken, credits: cost, fee: fee)
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

    func record(status: Int, errorCode: String?, tokens: TokenUsage = .zero, timeToFirstToken: Duration? = nil,
                credits: MicroCredits = .zero, fee: MicroCredits = .zero) {
        let cost = resolved.map { tokens.cost(at: $0.model) } ?? .zero
        let record = UsageRecord(
            requestID: requestID, organizationID: caller.organization.id, apiKeyID: caller.key.id,
            model: model, provider: provider, byok: billing == .byok, billing: billing, usage: tokens, costUSD: cost,
            creditsCharged: credits, feeCredits: fee,
            latencyMs: (ContinuousClock.now - startedAt).milliseconds, timeToFirstTokenMs: timeToFirstToken?.milliseconds,
            stream: stream, status: status, errorCode: errorCode, createdAt: Clock.nowMs(), byokKeyID: byokKeyID)
        gateway.usage.record(record)
        logger.info("chat completion", metadata: [
            "model": "\(model)", "billing": "\(billing?.rawValue ?? "none")", "status": "\(status)",
            "input_tokens": "\(tokens.inputTokens)", "output_tokens": "\(tokens.outputTokens)",
            "estimated": "\(tokens.estimated)", "latency_ms": "\(record.latencyMs)",
            "credits_charged": "\(credits)", "fee_credits": "\(fee)",
            "error": "\(errorCode ?? "")",
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
