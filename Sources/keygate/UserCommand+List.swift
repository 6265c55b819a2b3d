import ArgumentParser

extension UserCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's dashboard users.")
        @OptionGroup var organization: OrganizationOption

        func run() async throws {
            try await withDashboardAccounts { accounts in
                let members = try await accounts.members(organizationSlug: organization.org)
                if members.isEmpty { print("No users in \(organization.org)") }
                for member in members {
                    print("\(member.user.email)\t\(member.role.rawValue)\t\(member.user.id)")
                }
            }
        }
    }
}
