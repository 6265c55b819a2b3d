import ArgumentParser
import Foundation
import KeygateDashboard
import KeygateStore

extension UserCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a dashboard user in an organisation (the password is read from standard input, never an argument).",
            discussion: "A user who already exists (same email, any case) is added to the organisation with their password unchanged.")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "The email the person signs in with.") var email: String
        @Option(help: "admin (manages keys, billing and settings) or member (reads).") var role: String = "member"

        func run() async throws {
            guard let memberRole = MemberRole(rawValue: role) else { fail("--role must be admin or member, got '\(role)'") }
            try await withDashboardAccounts { accounts in
                var password = ""
                if try await accounts.userExists(email: email) == false {
                    let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                    // One line: the trailing newline of `echo` or a terminal is not part of the password.
                    password = String(input.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                    if password.hasSuffix("\r") { password.removeLast() }
                }
                let (user, created) = try await accounts.addUser(
                    organizationSlug: organization.org, email: email, password: password, role: memberRole)
                print(
                    created
                        ? "Created user \(user.email) (\(user.id)) as \(memberRole.rawValue) of \(organization.org)"
                        : "Added existing user \(user.email) (\(user.id)) as \(memberRole.rawValue) of \(organization.org)")
            }
        }
    }
}
