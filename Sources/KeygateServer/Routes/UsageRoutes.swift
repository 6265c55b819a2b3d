import Hummingbird
import KeygateCore
import KeygateStore

/// `GET /api/orgs/{slug}/usage?limit=N`: the organisation's newest usage records, newest first.
struct UsageRoutes: Sendable {
    let store: any UsageStore

    func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let limit = try ListLimit.parse(request)
        let records = try await store.usageRecords(organizationID: organization.id, limit: limit)
        return Response.json(.ok, .array(records.map(Self.listed)))
    }

    static func listed(_ r: UsageRecord) -> JSONValue {
        .object([
            "request_id": .string(r.requestID),
            "created_at": .string(Timestamps.iso8601(ms: r.createdAt)),
            "model": .string(r.model),
            "provider": .string(r.provider),
            "billing": r.billing.map { .string($0.rawValue) } ?? .null,
            "byok": .bool(r.byok),
            "stream": .bool(r.stream),
            "status": .int(Int64(r.status)),
            "error_code": r.errorCode.map(JSONValue.string) ?? .null,
            "input_tokens": .int(r.inputTokens),
            "output_tokens": .int(r.outputTokens),
            "cached_input_tokens": .int(r.cachedInputTokens),
            "reasoning_tokens": .int(r.reasoningTokens),
            "estimated": .bool(r.tokensEstimated),
            "cost_usd": .number(DecimalFormat.string(r.costUSD.value, scale: 12, minimumFractionDigits: 2)),
            "credits_charged": .number(r.creditsCharged.description),
            "fee_credits": .number(r.feeCredits.description),
            "latency_ms": .int(r.latencyMs),
            "ttft_ms": r.timeToFirstTokenMs.map { .int($0) } ?? .null,
        ])
    }
}
