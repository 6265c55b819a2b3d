import Hummingbird
import KeygateCore
import KeygateStore
import KeygateStripe

/// `/api/orgs/{slug}/packs`, `/checkout`, `/auto-topup` and `/purchases` (SPEC §11). Money is exact: credits
/// as JSON numbers with two or more decimals, amounts in the currency's major units (`47.50`).
struct PaymentRoutes: Sendable {
    let service: PaymentService
    let bodyLimit = 16 * 1024

    func packs(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.requireOrganization()
        return Response.json(.ok, .array(service.packs.packs.map(Self.listed)))
    }

    func checkout(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "pack")
        guard let value = body["pack"], !value.isNull else {
            throw GatewayError.missingField("pack", expected: "a pack id from GET /api/orgs/{slug}/packs")
        }
        guard let packID = value.stringValue else { throw GatewayError.wrongType("pack", expected: "a string", found: value.typeName) }
        let started = try await service.checkout(organization: organization, packID: packID)
        return Response.json(
            .created,
            .object([
                "purchase_id": .string(started.purchase.id),
                "session_id": .string(started.sessionID),
                "url": .string(started.url),
            ]))
    }

    func autoTopUp(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        return Response.json(.ok, Self.autoTopUp(try await service.autoTopUp(organization: organization), packs: service.packs))
    }

    /// Fields left out keep their value, so `{"enabled": true}` alone re-arms a failed or paused top-up.
    func updateAutoTopUp(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let body = try await request.collectJSONObject(limit: bodyLimit, expected: "enabled, threshold_credits, pack and monthly_limit")
        var enabled: Bool?
        if let value = body["enabled"], !value.isNull {
            guard let flag = value.boolValue else { throw GatewayError.wrongType("enabled", expected: "a boolean", found: value.typeName) }
            enabled = flag
        }
        var packID: String?
        if let value = body["pack"], !value.isNull {
            guard let pack = value.stringValue else { throw GatewayError.wrongType("pack", expected: "a string", found: value.typeName) }
            packID = pack
        }
        /// An amount is a JSON number, read from its text (exact, never through a Double).
        func numberText(_ name: String, expected: String) throws -> String? {
            guard let value = body[name], !value.isNull else { return nil }
            guard case .number(let text) = value else { throw GatewayError.wrongType(name, expected: expected, found: value.typeName) }
            return text
        }
        let change = try PaymentService.AutoTopUpChange(
            enabled: enabled, thresholdText: try numberText("threshold_credits", expected: "a number of credits"), packID: packID,
            monthlyLimitText: try numberText("monthly_limit", expected: "an amount in the packs' currency"), currency: service.packs.currency)
        let view = try await service.updateAutoTopUp(organization: organization, change)
        return Response.json(.ok, Self.autoTopUp(view, packs: service.packs))
    }

    func purchases(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let organization = try context.requireOrganization()
        let limit = try ListLimit.parse(request)
        return Response.json(.ok, .array(try await service.purchases(organization: organization, limit: limit).map(Self.listed)))
    }

    // MARK: Rendering

    static func money(_ minor: Int64, _ currency: String) -> JSONValue {
        .number(CurrencyUnits.majorUnitText(minor, currency: currency))
    }

    static func listed(_ pack: CreditPack) -> JSONValue {
        .object([
            "id": .string(pack.id),
            "label": .string(pack.label),
            "credits": CreditRoutes.credits(pack.grantedCredits),
            "price": money(pack.price, pack.currency),
            "currency": .string(pack.currency),
            "discount_percent": .number(pack.discountText),
        ])
    }

    static func listed(_ purchase: PurchaseRecord) -> JSONValue {
        .object([
            "id": .string(purchase.id),
            "kind": .string(purchase.kind.rawValue),
            "status": .string(purchase.status.rawValue),
            "pack": .string(purchase.packID),
            "credits": CreditRoutes.credits(purchase.credits),
            "amount": money(purchase.amount, purchase.currency),
            "currency": .string(purchase.currency),
            "created_at": .string(Timestamps.iso8601(ms: purchase.createdAt)),
            "completed_at": purchase.completedAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
            "failure_reason": purchase.failureReason.map(JSONValue.string) ?? .null,
            "refunded_amount": money(purchase.refundedAmount, purchase.currency),
            "credits_taken_back": CreditRoutes.credits(purchase.creditsTakenBack),
        ])
    }

    static func autoTopUp(_ view: PaymentService.AutoTopUpView, packs: CreditPacks) -> JSONValue {
        let account = view.account
        let currency = view.pack?.currency ?? packs.currency
        return .object([
            "enabled": .bool(account.autoTopUp.enabled),
            "threshold_credits": CreditRoutes.credits(account.autoTopUp.threshold),
            "pack": account.autoTopUp.packID.map(JSONValue.string) ?? .null,
            "monthly_limit": money(account.autoTopUp.monthlyLimit, currency),
            "currency": .string(currency),
            "state": .string(account.state.rawValue),
            "last_error": account.lastError.map(JSONValue.string) ?? .null,
            "last_error_at": account.lastErrorAt.map { .string(Timestamps.iso8601(ms: $0)) } ?? .null,
            "card_saved": .bool(account.paymentMethodID != nil),
            "spent_this_month": money(view.spentThisMonth, currency),
        ])
    }
}
