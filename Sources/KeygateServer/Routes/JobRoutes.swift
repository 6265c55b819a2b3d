import Hummingbird
import KeygateCore
import KeygateStore

/// `/api/orgs/{slug}/jobs` (open, list), `/jobs/{id}` (the receipt), `/jobs/{id}/complete`, `/jobs/{id}/fail`
/// and `/tiers` (SPEC §5, §11). Credits are exact JSON numbers with at least two decimals, like `/balance`'s.
struct JobRoutes: Sendable {
    let jobs: JobService
    let bodyLimit = 16 * 1024

    /// `{"credits"}` or `{"tier"}` (+ `expires_in`, `metadata`) → 201 with the job, its amount held.
    func open(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "credits or tier")
        let job = try await jobs.open(try JobRequest(parsing: body), organization: organization)
        return Response.json(.created, Self.listed(job))
    }

    /// `?status=open|completed|failed&limit=N`, newest first.
    func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let limit = try ListLimit.parse(request)
        var status: JobStatus?
        if let text = request.uri.queryParameters.get("status") {
            guard let value = JobStatus(rawValue: String(text)) else {
                throw GatewayError.invalidValue("'status' must be open, completed or failed.", param: "status")
            }
            status = value
        }
        let list = try await jobs.store.jobs(organizationID: organization.id, status: status, limit: limit)
        return Response.json(.ok, .array(list.map(Self.listed)))
    }

    /// The receipt: the job, each call (request id, model, provider, byok, tokens, credits) and totals by model.
    func receipt(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let (job, calls) = try await jobs.receipt(jobID: context.parameters.get("id") ?? "", organization: organization)
        var receipt = Self.listed(job)
        receipt["calls"] = .array(
            calls.map { call in
                .object([
                    "request_id": .string(call.requestID),
                    "model": .string(call.model),
                    "provider": .string(call.provider),
                    "byok": .bool(call.byok),
                    "status": .int(Int64(call.status)),
                    "input_tokens": .int(call.inputTokens),
                    "output_tokens": .int(call.outputTokens),
                    "credits": CreditRoutes.credits(MicroCredits(call.creditsCharged.value + call.feeCredits.value)),
                    "created_at": .string(Timestamps.iso8601(ms: call.createdAt)),
                ])
            })
        receipt["totals_by_model"] = .array(Self.totalsByModel(calls))
        return Response.json(.ok, receipt)
    }

    func complete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        return Response.json(.ok, Self.listed(try await jobs.complete(jobID: context.parameters.get("id") ?? "", organization: organization)))
    }

    func fail(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        return Response.json(.ok, Self.listed(try await jobs.fail(jobID: context.parameters.get("id") ?? "", organization: organization)))
    }

    /// Each tier (name, typical, min, max) with what its completed jobs cost: count, median, p90, max and
    /// total in credits, and what the same tokens cost at list price.
    func tiers(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let report = try await jobs.tiersReport(organization: organization)
        return Response.json(
            .ok,
            .array(
                report.map { tier, costs in
                    .object([
                        "name": .string(tier.name),
                        "typical": CreditRoutes.credits(tier.typical),
                        "min": CreditRoutes.credits(tier.minimum),
                        "max": CreditRoutes.credits(tier.maximum),
                        "completed_jobs": .object([
                            "count": .int(Int64(costs.count)),
                            "median": CreditRoutes.credits(costs.median),
                            "p90": CreditRoutes.credits(costs.p90),
                            "max": CreditRoutes.credits(costs.maximum),
                            "total_charged": CreditRoutes.credits(costs.totalCharged),
                            "list_price": CreditRoutes.credits(costs.listPrice),
                        ]),
                    ])
                }))
    }

    static func listed(_ job: Job) -> JSONValue {
        .object([
            "id": .string(job.id),
            "status": .string(job.status.rawValue),
            "tier": job.tier.map(JSONValue.string) ?? .null,
            "reserved": CreditRoutes.credits(job.amount),
            "charged": CreditRoutes.credits(job.charged),
            "refunded": CreditRoutes.credits(job.refunded),
            "remaining": CreditRoutes.credits(job.remaining),
            "in_flight": CreditRoutes.credits(job.inFlight),
            "metadata": .object(JSONObject(entries: job.metadata.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })),
            "expires_at": .string(Timestamps.iso8601(ms: job.expiresAt)),
            "created_at": .string(Timestamps.iso8601(ms: job.createdAt)),
            "closed_at": job.closedAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
        ])
    }

    /// Per model and provider: calls, tokens, credits charged, and the tokens' list price, in first-use order.
    static func totalsByModel(_ calls: [UsageRecord]) -> [JSONValue] {
        var order: [String] = []
        var totals: [String: (model: String, provider: String, calls: Int64, input: Int64, output: Int64, credits: Int64, cost: Int64)] = [:]
        for call in calls {
            let key = call.model + "\u{0}" + call.provider
            if totals[key] == nil {
                order.append(key)
                totals[key] = (call.model, call.provider, 0, 0, 0, 0, 0)
            }
            totals[key]!.calls += 1
            totals[key]!.input += call.inputTokens
            totals[key]!.output += call.outputTokens
            totals[key]!.credits += call.creditsCharged.value + call.feeCredits.value
            totals[key]!.cost += call.costUSD.value
        }
        return order.compactMap { totals[$0] }.map { total in
            .object([
                "model": .string(total.model),
                "provider": .string(total.provider),
                "calls": .int(total.calls),
                "input_tokens": .int(total.input),
                "output_tokens": .int(total.output),
                "credits": CreditRoutes.credits(MicroCredits(total.credits)),
                "list_price": CreditRoutes.credits(PicoUSD(total.cost).microCreditsRoundedUp),
            ])
        }
    }
}
