import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore

struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credits", abstract: "Grant or adjust an organisation's credits.",
        subcommands: [Grant.self, Adjust.self, Balance.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add credits (a ledger entry). 1 credit = $0.01.")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "Credits to add, up to 6 decimals (e.g. 500 or 12.50).") var credits: String
        @Option(help: "Why (kept in the ledger).") var reason: String?
        @Flag(help: "Record it as a purchase rather than a grant.") var purchase = false

        func run() async throws {
            guard let amount = MicroCredits(creditsText: credits), amount.value > 0 else {
                fail("--credits must be a positive number with at most 6 decimals, got '\(credits)'")
            }
            try await withAdminService { admin, _ in
                let balance = try await admin.addCredits(
                    organizationSlug: organization.org, amount: amount, kind: purchase ? .purchase : .grant, reason: reason)
                print("Granted \(amount) credits to \(organization.org): available \(balance.available), reserved \(balance.reserved)")
            }
        }
    }

    struct Adjust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Correct a balance by hand, up or down (an adjustment entry).")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "Credits to add, or to remove with a leading '-' (e.g. -2.50).") var credits: String
        @Option(help: "Why (kept in the ledger).") var reason: String

        func run() async throws {
            let negative = credits.hasPrefix("-")
            guard let magnitude = MicroCredits(creditsText: negative ? String(credits.dropFirst()) : credits), magnitude.value > 0 else {
                fail("--credits must be a non-zero number with at most 6 decimals, got '\(credits)'")
            }
            let amount = MicroCredits(negative ? -magnitude.value : magnitude.value)
            try await withAdminService { admin, _ in
                let balance = try await admin.addCredits(organizationSlug: organization.org, amount: amount, kind: .adjustment, reason: reason)
                print("Adjusted \(organization.org) by \(amount) credits: available \(balance.available), reserved \(balance.reserved)")
            }
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an organisation's balance.")
        @OptionGroup var organization: OrganizationOption
        func run() async throws {
            try await withAdminService { admin, _ in
                let b = try await admin.balance(organizationSlug: organization.org)
                print("available \(b.available) (trial \(b.trial)), reserved \(b.reserved), total \(b.total)")
            }
        }
    }
}
