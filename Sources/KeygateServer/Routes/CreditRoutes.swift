import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore

/// `/api/orgs/{slug}/balance`, `/ledger` and `/estimate`. Credits are JSON numbers with at least two decimals,
/// exact (µcredit precision).
struct CreditRoutes: Sendable {
    let gateway: Gateway

    func balance(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let balance = try await gateway.store.balance(organizationID: organization.id)
        let byokCount = try await gateway.store.byokRequestCount(
            organizationID: organization.id, since: MonthStart.utc(ofMs: WallClock.nowMs()))
        return Response.json(
            .ok,
            .object([
                "available": Self.credits(balance.available),
                "reserved": Self.credits(balance.reserved),
                "total": Self.credits(balance.total),
                "trial": .object([
                    "available": Self.credits(balance.trial),
                    "expires_at": balance.trialExpiresAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
                ]),
                "byok_request_count": .int(byokCount),
            ]))
    }

    func ledger(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let limit = try ListLimit.parse(request)
        let entries = try await gateway.store.ledgerEntries(organizationID: organization.id, limit: limit)
        return Response.json(
            .ok,
            .array(
                entries.map { entry in
                    .object([
                        "id": .int(entry.id),
                        "kind": .string(entry.kind.rawValue),
                        "credits": Self.credits(entry.totalDelta),
                        "available_change": Self.credits(MicroCredits(entry.regularDelta.value + entry.trialDelta.value)),
                        "trial_change": Self.credits(entry.trialDelta),
                        "reserved_change": Self.credits(entry.reservedDelta),
                        "balance_after": Self.credits(entry.availableAfter),
                        "reserved_after": Self.credits(entry.reservedAfter),
                        "created_at": .string(Timestamps.iso8601(ms: entry.createdAt)),
                        "request_id": entry.requestID.map(JSONValue.string) ?? .null,
                        "reason": entry.reason.map(JSONValue.string) ?? .null,
                    ])
                }))
    }

    /// What a chat completion body would reserve, and the route it would take, without running it.
    func estimate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let chat = try ChatCompletionRequest.parse(try await request.collectAPIBody(limit: gateway.configuration.maxBodyBytes))
        let forced = request.headers[.byokProvider]
        // The same planning as the call itself, stopping before the credential and the reservation.
        let planner = CallPlanner(gateway: gateway)
        let route = try await planner.route(
            for: try planner.resolve(model: chat.model, forcedProvider: forced), forced: forced != nil,
            organization: organization)
        let resolved = route.resolved
        let estimate = CallBody.chat(chat).estimate(model: resolved.model, policy: planner.credits.policy)
        let balance = try await gateway.store.balance(organizationID: organization.id)
        let reserve = route.billing == .credits ? estimate.reservation : .zero
        return Response.json(
            .ok,
            .object([
                "model": .string(resolved.publicID),
                "provider": .string(resolved.provider.id),
                "billing": .string(route.billing.rawValue),
                "credits_reserved": Self.credits(reserve),
                "estimated_prompt_tokens": .int(estimate.promptTokens),
                "max_output_tokens": .int(estimate.maxOutputTokens),
                "max_output_tokens_from": .string(estimate.maxOutputSource),
                "estimated_cost": Self.credits(estimate.cost),
                "estimated_fee": Self.credits(route.billing == .credits ? estimate.fee : .zero),
                "available": Self.credits(balance.available),
                "fits": .bool(balance.available.value >= reserve.value),
            ]))
    }

    static func credits(_ amount: MicroCredits) -> JSONValue { .number(amount.description) }
}
