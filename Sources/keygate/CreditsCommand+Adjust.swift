import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore

extension CreditsCommand {
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
}
