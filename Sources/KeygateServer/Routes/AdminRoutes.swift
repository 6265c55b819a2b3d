import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore

/// The operator's admin API (`/api/admin/…`, an operator token): organisations (create, list with balances,
/// suspend), credits granted or adjusted with a reason (ledger entries), usage and spend across organisations
/// by day, any organisation's ledger, and the audit trail. Every request but reading the audit trail itself
/// leaves an audit record: who (the token), what, when, from where, and how it ended.
struct AdminRoutes: Sendable {
    let gateway: Gateway

    var store: any Store { gateway.store }

    func register(on router: Router<GatewayRequestContext>) {
        let admin = router.group("api/admin").add(middleware: OperatorAuthenticator(tokens: OperatorTokens(store: gateway.store)))
        admin.get("organizations", use: listOrganizations)
        admin.post("organizations", use: createOrganization)
        admin.get("organizations/:slug", use: showOrganization)
        admin.post("organizations/:slug/suspend", use: suspend)
        admin.post("organizations/:slug/unsuspend", use: unsuspend)
        admin.post("organizations/:slug/credits/grant", use: grant)
        admin.post("organizations/:slug/credits/adjust", use: adjust)
        admin.get("organizations/:slug/ledger", use: ledger)
        admin.get("usage", use: usage)
        admin.get("audit", use: audit)
    }

    // MARK: Organisations

    func listOrganizations(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await audited(context, action: "organization.list", target: nil, detail: nil) {
            let suspensions = try await store.suspensions()
            var rows: [JSONValue] = []
            for organization in try await store.organizations() {
                rows.append(try await describe(organization, suspension: suspensions[organization.id]))
            }
            return Response.json(.ok, .array(rows))
        }
    }

    func createOrganization(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.collectJSONObject(limit: gateway.configuration.maxBodyBytes, expected: "'slug' and optional 'name'")
        guard let slug = body["slug"]?.stringValue, !slug.isEmpty else {
            throw GatewayError.missingField("slug", expected: "a string of a-z, 0-9 and '-'")
        }
        if let name = body["name"], name.stringValue == nil, !name.isNull {
            throw GatewayError.wrongType("name", expected: "a string", found: name.typeName)
        }
        return try await audited(context, action: "organization.create", target: slug, detail: nil) {
            let organization: Organization
            do {
                organization = try await AdminService(store: store).createOrganization(
                    slug: slug, name: body["name"]?.stringValue, trial: gateway.live.creditPolicy.value)
            } catch StoreError.duplicate {
                throw GatewayError.organizationExists(slug)
            } catch StoreError.invalid(let reason) {
                throw GatewayError.invalidValue(reason.prefix(1).uppercased() + reason.dropFirst() + ".", param: "slug")
            }
            return Response.json(.created, try await describe(organization, suspension: nil))
        }
    }

    func showOrganization(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        return try await audited(context, action: "organization.read", target: slug, detail: nil) {
            let organization = try await organization(slug)
            return Response.json(.ok, try await describe(organization, suspension: try await store.suspension(organizationID: organization.id)))
        }
    }

    func suspend(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        let body = try await request.collectJSONObject(limit: gateway.configuration.maxBodyBytes, expected: "'reason'")
        let reason = try Self.reason(in: body)
        return try await audited(context, action: "organization.suspend", target: slug, detail: "reason: \(reason)") {
            let organization = try await organization(slug)
            let suspension = OrganizationSuspension(reason: reason, suspendedAt: WallClock.nowMs())
            try await store.setSuspension(suspension, organizationID: organization.id)
            gateway.suspensions.invalidate(organizationID: organization.id)
            return Response.json(.ok, try await describe(organization, suspension: suspension))
        }
    }

    func unsuspend(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        return try await audited(context, action: "organization.unsuspend", target: slug, detail: nil) {
            let organization = try await organization(slug)
            try await store.setSuspension(nil, organizationID: organization.id)
            gateway.suspensions.invalidate(organizationID: organization.id)
            return Response.json(.ok, try await describe(organization, suspension: nil))
        }
    }

    // MARK: Credits and the ledger

    func grant(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await changeCredits(request, context: context, kind: .grant)
    }

    func adjust(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await changeCredits(request, context: context, kind: .adjustment)
    }

    /// A `grant` (positive) or an `adjustment` (either sign, not zero) of `credits`, with its `reason` kept in
    /// the ledger entry: `LedgerStore.addCredits`, the one way credits are added by hand.
    func changeCredits(_ request: Request, context: GatewayRequestContext, kind: LedgerEntryKind) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        let body = try await request.collectJSONObject(limit: gateway.configuration.maxBodyBytes, expected: "'credits' and 'reason'")
        let amount = try Self.credits(in: body, allowNegative: kind == .adjustment)
        let reason = try Self.reason(in: body)
        let action = kind == .grant ? "credits.grant" : "credits.adjust"
        return try await audited(context, action: action, target: slug, detail: "credits: \(amount), reason: \(reason)") {
            let organization = try await organization(slug)
            let balance = try await store.addCredits(
                organizationID: organization.id, amount: amount, kind: kind, reason: reason, trialExpiresAt: nil)
            return Response.json(
                .ok,
                .object([
                    "organization": .string(organization.slug), "kind": .string(kind.rawValue), "credits": CreditRoutes.credits(amount),
                    "reason": .string(reason), "balance": Self.balance(balance),
                ]))
        }
    }

    /// Any organisation's ledger, as its admins see it at `/api/orgs/{slug}/ledger`.
    func ledger(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        return try await audited(context, action: "ledger.read", target: slug, detail: nil) {
            var context = context
            context.organization = try await organization(slug)
            return try await CreditRoutes(gateway: gateway).ledger(request, context: context)
        }
    }

    // MARK: Usage across organisations

    /// `?days=N` (UTC days up to today, default 30, at most 366) or `?since=YYYY-MM-DD&until=YYYY-MM-DD`
    /// (until exclusive): one row per organisation per day with usage, and each day's totals.
    func usage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (since, until) = try Self.window(request)
        return try await audited(context, action: "usage.read", target: nil, detail: "\(Self.day(since))..\(Self.day(until))") {
            let slugs = Dictionary(try await store.organizations().map { ($0.id, $0.slug) }, uniquingKeysWith: { a, _ in a })
            let rows = try await store.dailyUsage(since: since, until: until)
            var totals: [(day: Int64, rows: [OrganizationDailyUsage])] = []
            for row in rows {
                if totals.last?.day == row.dayStart { totals[totals.count - 1].rows.append(row) } else { totals.append((row.dayStart, [row])) }
            }
            func figures(_ rows: [OrganizationDailyUsage]) -> [(String, JSONValue)] {
                [
                    ("requests", .int(rows.reduce(0) { $0 + $1.requests })),
                    ("byok_requests", .int(rows.reduce(0) { $0 + $1.byokRequests })),
                    ("input_tokens", .int(rows.reduce(0) { $0 + $1.inputTokens })),
                    ("output_tokens", .int(rows.reduce(0) { $0 + $1.outputTokens })),
                    ("credits_charged", CreditRoutes.credits(MicroCredits(rows.reduce(0) { $0 + $1.creditsCharged.value }))),
                    ("fees", CreditRoutes.credits(MicroCredits(rows.reduce(0) { $0 + $1.fees.value }))),
                    ("cost_usd", .number(DecimalFormat.string(rows.reduce(0) { $0 + $1.costUSD.value }, scale: 12, minimumFractionDigits: 2))),
                ]
            }
            let body: JSONValue = .object([
                "since": .string(Self.day(since)), "until": .string(Self.day(until)),
                "rows": .array(
                    rows.map { row in
                        .object(
                            JSONObject(
                                entries: ([
                                    ("date", .string(Self.day(row.dayStart))),
                                    ("organization", .string(slugs[row.organizationID] ?? row.organizationID)),
                                ]
                                    + figures([row])).map { JSONObject.Entry(key: $0.0, value: $0.1) }))
                    }),
                "days": .array(
                    totals.map { day in
                        .object(
                            JSONObject(
                                entries: ([("date", .string(Self.day(day.day))), ("organizations", .int(Int64(day.rows.count)))] + figures(day.rows))
                                    .map { JSONObject.Entry(key: $0.0, value: $0.1) }))
                    }),
            ])
            return Response.json(.ok, body)
        }
    }

    // MARK: The audit trail

    /// `?limit=N` newest first, `?organization=slug` only those about it. Reading it is not itself recorded.
    func audit(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let limit = try ListLimit.parse(request)
        let target: String? = request.uri.queryParameters.get("organization").map { String($0) }
        let records = try await store.auditRecords(limit: limit, target: target)
        return Response.json(.ok, .array(records.map(Self.json)))
    }

    static func json(_ record: AuditRecord) -> JSONValue {
        var object: JSONObject = [:]
        object["id"] = .string(record.id)
        object["at"] = .string(Timestamps.iso8601(ms: record.at))
        object["actor"] = .object(["id": .string(record.actorID), "name": .string(record.actorName)])
        object["action"] = .string(record.action)
        object["target"] = record.target.map(JSONValue.string) ?? .null
        object["detail"] = record.detail.map(JSONValue.string) ?? .null
        object["outcome"] = .string(record.outcome)
        object["client_address"] = .string(record.clientAddress)
        return .object(object)
    }

    // MARK: Helpers

    /// Runs an operator action and records it, whatever its outcome: `ok`, or the code of the error it was
    /// refused with (a store error is turned into its API error first). A success whose record cannot be
    /// written is reported as an error: an action never goes unrecorded silently.
    func audited(
        _ context: GatewayRequestContext, action: String, target: String?, detail: String?, _ body: () async throws -> Response
    ) async throws -> Response {
        let token = context.operatorToken
        func record(_ outcome: String) -> AuditRecord {
            AuditRecord(
                id: Identifiers.make("aud"), at: WallClock.nowMs(), actorID: token?.id ?? "unknown", actorName: token?.name ?? "unknown",
                action: action, target: target, detail: detail, outcome: outcome, clientAddress: context.clientAddress)
        }
        let response: Response
        do {
            response = try await body()
        } catch {
            let mapped = Self.apiError(error, target: target)
            do {
                try await store.appendAudit(record((mapped as? GatewayError)?.code ?? "internal_error"))
            } catch {
                context.logger.error("an operator action could not be recorded in the audit trail", metadata: ["action": "\(action)"])
            }
            throw mapped
        }
        try await store.appendAudit(record("ok"))
        return response
    }

    static func apiError(_ error: any Error, target: String?) -> any Error {
        switch error {
        case StoreError.notFound: return GatewayError.organizationNotFound(target ?? "", in: .database)
        default: return error
        }
    }

    func organization(_ slug: String) async throws -> Organization {
        guard let organization = try await store.organization(slug: slug) else { throw GatewayError.organizationNotFound(slug, in: .database) }
        return organization
    }

    func describe(_ organization: Organization, suspension: OrganizationSuspension?) async throws -> JSONValue {
        let balance = try await store.balance(organizationID: organization.id)
        return .object([
            "id": .string(organization.id), "slug": .string(organization.slug), "name": .string(organization.name),
            "created_at": .string(Timestamps.iso8601(ms: organization.createdAt)),
            "suspended": .bool(suspension != nil),
            "suspension": suspension.map { .object(["reason": .string($0.reason), "suspended_at": .string(Timestamps.iso8601(ms: $0.suspendedAt))]) }
                ?? .null,
            "balance": Self.balance(balance),
        ])
    }

    static func balance(_ balance: CreditBalance) -> JSONValue {
        .object([
            "available": CreditRoutes.credits(balance.available), "reserved": CreditRoutes.credits(balance.reserved),
            "total": CreditRoutes.credits(balance.total), "trial": CreditRoutes.credits(balance.trial),
        ])
    }

    /// `credits`: a JSON number (or a string of one) of credits with at most 6 decimals; positive, or for an
    /// adjustment either sign but not zero.
    static func credits(in body: JSONValue, allowNegative: Bool) throws -> MicroCredits {
        let text: String
        switch body["credits"] {
        case .number(let number)?: text = number
        case .string(let string)?: text = string
        case nil, .null?: throw GatewayError.missingField("credits", expected: "a number of credits")
        case let other?: throw GatewayError.wrongType("credits", expected: "a number of credits", found: other.typeName)
        }
        let negative = allowNegative && text.hasPrefix("-")
        guard let magnitude = MicroCredits(creditsText: negative ? String(text.dropFirst()) : text), magnitude.value > 0 else {
            let rule = allowNegative ? "a non-zero number" : "a positive number"
            throw GatewayError.invalidValue("'credits' must be \(rule) of credits with at most 6 decimals, got \(text).", param: "credits")
        }
        return negative ? MicroCredits(-magnitude.value) : magnitude
    }

    /// `reason`: required, so that every change by hand says why (kept in the ledger and the audit trail).
    static func reason(in body: JSONValue) throws -> String {
        guard let reason = body["reason"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw GatewayError.missingField("reason", expected: "a non-empty string saying why")
        }
        guard reason.count <= 500 else { throw GatewayError.invalidValue("'reason' must be at most 500 characters.", param: "reason") }
        return reason
    }

    static func window(_ request: Request) throws -> (since: Int64, until: Int64) {
        let query = request.uri.queryParameters
        let today = WallClock.nowMs() / UsageDay.lengthMs * UsageDay.lengthMs
        if let sinceText = query.get("since") {
            guard let since = dayStart(String(sinceText)) else {
                throw GatewayError.invalidValue("'since' must be a date YYYY-MM-DD.", param: "since")
            }
            let until: Int64
            if let untilText = query.get("until") {
                guard let value = dayStart(String(untilText)), value > since else {
                    throw GatewayError.invalidValue("'until' must be a date YYYY-MM-DD after 'since'.", param: "until")
                }
                until = value
            } else {
                until = today + UsageDay.lengthMs
            }
            guard until - since <= 366 * UsageDay.lengthMs else {
                throw GatewayError.invalidValue("The window may span at most 366 days.", param: "until")
            }
            return (since, until)
        }
        var days: Int64 = 30
        if let text = query.get("days") {
            guard let value = Int64(text), (1...366).contains(value) else {
                throw GatewayError.invalidValue("'days' must be an integer from 1 to 366.", param: "days")
            }
            days = value
        }
        return (today - (days - 1) * UsageDay.lengthMs, today + UsageDay.lengthMs)
    }

    /// Midnight UTC of `YYYY-MM-DD`, in ms.
    static func dayStart(_ text: String) -> Int64? {
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
            calendar.component(.day, from: date) == d
        else { return nil }
        return Int64(date.timeIntervalSince1970) * 1000
    }

    static func day(_ ms: Int64) -> String { String(Timestamps.iso8601(ms: ms).prefix(10)) }
}
