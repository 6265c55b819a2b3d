import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore

/// The buying-credits sections of `/{slug}/billing`: the packs with their Buy forms, the auto top-up form and
/// the purchases. Every rule is `BillingActions`' (the JSON API's service): a refusal's `GatewayError`
/// message is shown next to its form. Admins change; members see the same page without the forms' buttons.
extension DashboardRoutes {
    /// `POST /{slug}/billing/checkout` (`pack`): 303 to Stripe Checkout, or the page with the reason.
    func buyCredits(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .buyCredits) { user, membership, fields in
            guard let actions = billingActions else { return notFound(user) }
            let organization = membership.organization
            return DashboardPage.redirect(to: try await actions.startCheckout(organization: organization, packID: fields["pack"] ?? ""))
        }
    }

    /// `POST /{slug}/billing/auto-topup`: a checkbox left unticked is `enabled` off; an empty field keeps its value.
    func saveAutoTopUp(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .autoTopUp) { user, membership, fields in
            guard let actions = billingActions else { return notFound(user) }
            let organization = membership.organization
            // The amounts are read (and refused) by the service, as on the JSON API and the CLI.
            try await actions.saveAutoTopUp(
                organization: organization, enabled: fields["enabled"] != nil, threshold: Self.filled(fields["threshold_credits"]),
                packID: Self.filled(fields["pack"]), monthlyLimit: Self.filled(fields["monthly_limit"]))
            return DashboardPage.redirect(to: "/\(organization.slug)/billing?saved=auto-topup#auto-topup")
        }
    }

    static func filled(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    // MARK: Rendering

    func addBillingSections(
        to values: inout [String: Any], actions: any BillingActions, organization: Organization, isAdmin: Bool, query: BillingQuery,
        problem: FormProblem?
    ) async throws {
        let packs = actions.creditPacks
        values["billing"] = true
        values["packs"] = packs.packs.map { pack -> [String: Any] in
            var row: [String: Any] = [
                "id": pack.id, "label": pack.label, "credits": Self.grouped(pack.credits),
                "price": "\(pack.priceText) \(pack.currency.uppercased())",
            ]
            if pack.discountBasisPoints > 0 { row["discount"] = "\(pack.discountText)% off" }
            return row
        }
        switch query.checkout {
        case "success":
            var text = "Payment received: your credits appear as soon as Stripe confirms it."
            if let sessionID = query.sessionID, let purchase = try await actions.purchase(checkoutSessionID: sessionID),
                purchase.organizationID == organization.id
            {
                text += " This purchase is \(Self.statusWords(purchase.status))."
            }
            values["checkoutNotice"] = text
        case "cancelled":
            values["checkoutNotice"] = "Checkout was cancelled: nothing was charged."
        default: break
        }
        if query.saved == "auto-topup" { values["autoTopUpSaved"] = "Auto top-up saved." }

        let status = try await actions.autoTopUpStatus(organization: organization)
        let account = status.account
        let settings = account.autoTopUp
        let currency = packs.packs.first { $0.id == settings.packID }?.currency ?? packs.currency
        values["autoTopUp"] =
            [
                "enabled": settings.enabled,
                "threshold": settings.threshold.description,
                "monthlyLimit": CurrencyUnits.majorUnitText(settings.monthlyLimit, currency: currency),
                "currency": currency.uppercased(),
                "spentThisMonth": CurrencyUnits.majorUnitText(status.spentThisMonth, currency: currency),
                "state": Self.stateWords(account, enabled: settings.enabled),
                "cardSaved": account.paymentMethodID != nil,
                "packOptions": packs.packs.map { ["id": $0.id, "label": $0.label, "selected": $0.id == settings.packID] },
                "noPack": settings.packID == nil,
            ] as [String: Any]
        if let problem, problem.form == .autoTopUp {
            // The refused values stay in the form to be corrected; the state above is still the saved one.
            let typed = problem.submitted
            let packID = Self.filled(typed["pack"]) ?? settings.packID
            values["autoTopUp"] = (values["autoTopUp"] as? [String: Any] ?? [:]).merging([
                "enabled": typed["enabled"] != nil,
                "threshold": typed["threshold_credits"] ?? settings.threshold.description,
                "monthlyLimit": typed["monthly_limit"] ?? CurrencyUnits.majorUnitText(settings.monthlyLimit, currency: currency),
                "packOptions": packs.packs.map { ["id": $0.id, "label": $0.label, "selected": $0.id == packID] },
                "noPack": packID == nil,
            ]) { $1 }
        }

        let paging = PagedRows<PurchaseRecord>(page: query.purchasesPage, perPage: BillingQuery.purchasesPerPage)
        let read = try await actions.purchases(organization: organization, limit: paging.readLimit)
        let rows = paging.rows(of: read)
        values["purchases"] = rows.map { purchase -> [String: Any] in
            var row: [String: Any] = [
                "kind": purchase.kind == .checkout ? "Checkout" : "Auto top-up",
                "status": Self.statusWords(purchase.status),
                "pack": packs.pack(id: purchase.packID)?.label ?? purchase.packID,
                "credits": purchase.credits.description,
                "amount": "\(CurrencyUnits.majorUnitText(purchase.amount, currency: purchase.currency)) \(purchase.currency.uppercased())",
                "date": Self.day(ms: purchase.createdAt),
            ]
            if let reason = purchase.failureReason { row["failure"] = reason }
            return row
        }
        if rows.isEmpty { values["noPurchases"] = paging.page == 1 ? "No purchases yet." : "No purchases on this page." }
        values.merge(
            paging.links(read: read, name: "purchases", base: "/\(organization.slug)/billing", parameter: "purchases_page", anchor: "purchases")
        ) { $1 }
    }

    /// Auto top-up's state in words a person can act on.
    static func stateWords(_ account: BillingAccount, enabled: Bool) -> String {
        let reason = account.lastError.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
        switch account.state {
        case .failing:
            return "Failing: \(reason ?? "the last top-up did not go through"). Save with 'enabled' to try again."
        case .paused:
            return "Paused by a dispute\(reason.map { " (\($0))" } ?? ""). Save with 'enabled' to turn it back on."
        case .monthlyLimitReached:
            return "Monthly limit reached: no top-up until next month (UTC), or raise the limit and save."
        case .inFlight:
            return "A top-up is being charged now."
        case .idle:
            guard enabled else { return "Off." }
            guard account.paymentMethodID != nil else { return "On, but no card is saved yet: buy a pack once and its card funds top-ups." }
            return "On: a top-up starts when Available falls below the threshold."
        }
    }

    static func statusWords(_ status: PurchaseStatus) -> String {
        switch status {
        case .pending: "pending (waiting for Stripe)"
        case .succeeded: "paid, credits added"
        case .failed: "failed"
        case .flagged: "held for review (the payment did not match)"
        case .expired: "expired unpaid"
        case .refused: "not attempted"
        }
    }

    /// Whole credits with thousands separators: 100,000.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }
}
