import KeygateCore
import KeygateStore

/// The billing page's figures from usage and the ledger: spend this month, the 30-day chart, usage by model
/// and by provider, and the ledger with paging. The chart, the tables and the spend card are summed by the
/// store from the same usage records (`UsageSummary`), so they agree with each other; days are UTC.
extension DashboardRoutes {
    static var chartDays: Int { 30 }

    func addUsageSections(to values: inout [String: Any], organization: Organization, query: BillingQuery, nowMs: Int64) async throws {
        let today = nowMs / UsageDay.lengthMs * UsageDay.lengthMs
        let firstDay = today - Int64(Self.chartDays - 1) * UsageDay.lengthMs
        let monthStart = MonthStart.utc(ofMs: nowMs)
        let window = try await balances.usageSummary(organizationID: organization.id, since: firstDay)
        let month = monthStart == firstDay ? window : try await balances.usageSummary(organizationID: organization.id, since: monthStart)
        let spent = MicroCredits(month.days.reduce(0) { $0 + $1.credits.value })
        values["spendThisMonth"] = spent.description

        let chart = UsageChart(summary: window, firstDay: firstDay, count: Self.chartDays)
        values["usageChart"] = chart.svg
        values["usageTotals"] =
            "\(Self.grouped(chart.totalRequests)) requests and \(chart.totalCredits) credits from \(UsageChart.isoDay(firstDay)) to \(UsageChart.isoDay(today)) (UTC days)."
        values["usageByModel"] = window.byModel.map(Self.usageRow)
        values["usageByProvider"] = window.byProvider.map(Self.usageRow)
        if window.byModel.isEmpty { values["noUsage"] = true }

        let paging = PagedRows<LedgerEntry>(page: query.ledgerPage, perPage: BillingQuery.ledgerPerPage)
        let read = try await balances.ledgerEntries(organizationID: organization.id, limit: paging.readLimit)
        let rows = paging.rows(of: read)
        values["ledgerEntries"] = rows.map { entry -> [String: Any] in
            var row: [String: Any] = [
                "date": Self.day(ms: entry.createdAt), "kind": Self.kindWords(entry.kind),
                "available": Self.signed(MicroCredits(entry.regularDelta.value + entry.trialDelta.value)),
                "reserved": Self.signed(entry.reservedDelta), "availableAfter": entry.availableAfter.description,
            ]
            if let reason = entry.reason { row["reason"] = reason }
            if let request = entry.requestID { row["request"] = request }
            return row
        }
        if rows.isEmpty { values["noLedger"] = paging.page == 1 ? "No ledger entries yet." : "No entries on this page." }
        values.merge(paging.links(read: read, name: "ledger", base: "/\(organization.slug)/billing", parameter: "ledger_page", anchor: "ledger")) {
            $1
        }
    }

    static func usageRow(_ total: UsageTotal) -> [String: Any] {
        [
            "model": total.model, "provider": total.provider, "requests": grouped(total.requests), "byokRequests": grouped(total.byokRequests),
            "inputTokens": grouped(total.inputTokens), "outputTokens": grouped(total.outputTokens), "credits": total.credits.description,
            "costUSD": "$" + DecimalFormat.string(total.costUSD.value, scale: 12, minimumFractionDigits: 2),
        ]
    }

    static func signed(_ amount: MicroCredits) -> String {
        amount.value > 0 ? "+\(amount)" : amount.value == 0 ? "" : amount.description
    }

    static func kindWords(_ kind: LedgerEntryKind) -> String {
        switch kind {
        case .trialGrant: "Trial credits"
        case .purchase: "Purchase"
        case .grant: "Grant"
        case .adjustment: "Adjustment"
        case .reserve: "Reserved for a request"
        case .settle: "Request charged"
        case .release: "Unused reservation returned"
        case .fee: "Fee"
        case .expiry: "Trial credits expired"
        case .refund: "Refund taken back"
        case .dispute: "Dispute"
        }
    }
}
