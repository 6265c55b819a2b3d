import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore

extension CreditsCommand {
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
