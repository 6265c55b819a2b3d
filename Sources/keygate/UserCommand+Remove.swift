import ArgumentParser

extension UserCommand {
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a user from an organisation (their account stays for their other organisations).")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "The user's email.") var email: String

        func run() async throws {
            try await withDashboardAccounts { accounts in
                try await accounts.removeMember(organizationSlug: organization.org, email: email)
                print("Removed \(email) from \(organization.org)")
            }
        }
    }
}
