import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer

/// `keygate topup show|set --org SLUG`: an organisation's auto top-up, through the same service as
/// `/api/orgs/{slug}/auto-topup`.
struct TopUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topup", abstract: "Show or change an organisation's auto top-up.", subcommands: [Show.self, Change.self, AttachCard.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show auto top-up: settings, state, last failure, this month's spend.")
        @OptionGroup var organization: OrganizationOption
        func run() async throws {
            try await withPaymentService { service in
                let view = try await service.autoTopUp(organization: try await service.organization(organization.org))
                print(TopUpCommand.render(view, packs: service.packs))
            }
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Change auto top-up. Options left out keep their value; --enable re-arms a failed or paused top-up.")
        @OptionGroup var organization: OrganizationOption
        @Flag(help: "Turn auto top-up on (also re-arms one that failed or was paused).") var enable = false
        @Flag(help: "Turn auto top-up off.") var disable = false
        @Option(help: "Top up when available credits fall below this many credits.") var threshold: String?
        @Option(help: "The pack to buy (see keygate packs list).") var pack: String?
        @Option(help: "The most auto top-ups may spend in a calendar month (UTC), in the packs' currency (e.g. 200.00).")
        var monthlyLimit: String?

        func run() async throws {
            guard !(enable && disable) else { fail("--enable and --disable contradict each other: give one") }
            try await withPaymentService { service in
                let change = try PaymentService.AutoTopUpChange(
                    enabled: enable ? true : disable ? false : nil, thresholdText: threshold, packID: pack, monthlyLimitText: monthlyLimit,
                    currency: service.packs.currency)
                let view = try await service.updateAutoTopUp(organization: try await service.organization(organization.org), change)
                print(TopUpCommand.render(view, packs: service.packs))
            }
        }
    }

    struct AttachCard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach-card",
            abstract:
                "Make an existing Stripe customer and its saved card the organisation's top-up card (customers brought over from other billing).")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "The Stripe customer id (cus_…).") var customer: String
        @Option(help: "A payment method attached to that customer (pm_…).") var paymentMethod: String

        func run() async throws {
            try await withPaymentService { service in
                let view = try await service.attachCard(
                    organization: try await service.organization(organization.org), customerID: customer, paymentMethodID: paymentMethod)
                print(TopUpCommand.render(view, packs: service.packs))
            }
        }
    }

    static func render(_ view: PaymentService.AutoTopUpView, packs: CreditPacks) -> String {
        let account = view.account
        let currency = view.pack?.currency ?? packs.currency
        let money = { (minor: Int64) in "\(CurrencyUnits.majorUnitText(minor, currency: currency)) \(currency)" }
        var lines = [
            "enabled \(account.autoTopUp.enabled), state \(account.state.rawValue)",
            "threshold \(account.autoTopUp.threshold) credits, pack \(account.autoTopUp.packID ?? "none"), monthly limit \(money(account.autoTopUp.monthlyLimit))",
            "spent this month \(money(view.spentThisMonth)), card saved \(account.paymentMethodID != nil)",
        ]
        if let error = account.lastError { lines.append("last error: \(error)") }
        return lines.joined(separator: "\n")
    }
}

/// Runs `body` with the payment service on the server's database (configured by the environment).
func withPaymentService(_ body: (PaymentService) async throws -> Void) async throws {
    try await runReportingFailure {
        let config = try await GatewayConfiguration.load()
        try await Bootstrap.withPaymentService(config, logger: makeLogger(config, level: .warning), body)
    }
}
