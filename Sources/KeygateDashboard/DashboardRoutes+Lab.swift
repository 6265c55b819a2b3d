import Hummingbird
import KeygateCore
import KeygateStore

/// `/{slug}/lab`: pick a model, send a message, watch the answer stream in, then see the path it took, what it
/// cost and the balance after. The page's script posts to `/{slug}/lab/chat`, which KeygateServer answers with
/// the gateway's own `/v1/chat/completions` handler (`LabChatRoute`): billed and recorded like any request. The
/// receipt comes from the request's usage record, read back here once the recorder has written it.
extension DashboardRoutes {
    /// The lab's chat path, relative to the organisation: `POST /{slug}/lab/chat`.
    public static var labChatPath: RouterPath { ":slug/lab/chat" }

    func lab(_ request: Request, context: Context) async throws -> Response {
        guard let user = try await signedIn(request) else { return DashboardPage.redirect(to: "/login") }
        guard let membership = user.membership(slug: context.parameters.get("slug") ?? "") else { return notFound(user) }
        var values = common(user, membership, page: .lab)
        let balance = try await balances.balance(organizationID: membership.organization.id)
        values["available"] = balance.available.description
        let activeProviders = Set(
            try await services.keys?.byokKeys(organization: membership.organization).filter { $0.status == .active }.map(\.provider) ?? [])
        values["models"] = services.labModels.map { model -> [String: Any] in
            let route = activeProviders.contains(model.provider) ? "your key" : model.isFree ? "free" : "credits"
            return ["id": model.id, "route": route]
        }
        return DashboardPage.html(templates.render("lab", values))
    }

    /// `GET /{slug}/lab/receipt/{request id}`: `{"ready": false}` until the usage record is written, then the
    /// path, the charge and the balance after. Only the organisation's own records are found.
    func labReceipt(_ request: Request, context: Context) async throws -> Response {
        guard let user = try await signedIn(request) else {
            return DashboardPage.json(#"{"ready":false,"error":"signed out"}"#, status: .unauthorized)
        }
        guard let membership = user.membership(slug: context.parameters.get("slug") ?? "") else {
            return DashboardPage.json(#"{"ready":false,"error":"not found"}"#, status: .notFound)
        }
        let org = membership.organization
        guard let record = try await balances.usageRecord(requestID: context.parameters.get("request") ?? "", organizationID: org.id) else {
            return DashboardPage.json(#"{"ready":false}"#)
        }
        var path = record.billing?.rawValue ?? "none"
        if record.byok {
            let preview = try await services.keys?.byokKeys(organization: org).first { $0.id == record.byokKeyID }?.preview
            path = "BYOK (key \(preview ?? "removed since"))"
        }
        let balance = try await balances.balance(organizationID: org.id)
        let charged = MicroCredits(record.creditsCharged.value + record.feeCredits.value)
        let receipt: JSONValue = .object([
            "ready": .bool(true),
            "status": .int(Int64(record.status)),
            "billing": .string(record.billing?.rawValue ?? "none"),
            "path": .string(path),
            "model": .string(record.model),
            "input_tokens": .int(record.inputTokens),
            "output_tokens": .int(record.outputTokens),
            "estimated": .bool(record.tokensEstimated),
            "credits_charged": .string(charged.description),
            "fee_credits": .string(record.feeCredits.description),
            "cost_usd": .string(DecimalFormat.string(record.costUSD.value, scale: 12, minimumFractionDigits: 2)),
            "available": .string(balance.available.description),
        ])
        return DashboardPage.json(String(decoding: receipt.encoded(), as: UTF8.self))
    }
}
