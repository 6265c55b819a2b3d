import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore

extension CreditsCommand {
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
}
