import ArgumentParser
import Foundation
import KeygateServer

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "org", abstract: "Manage organisations.",
                                                    subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation.")
        @Argument(help: "URL-safe handle: a-z, 0-9 and '-'.") var slug: String
        @Option(help: "Display name (defaults to the slug).") var name: String?

        func run() async throws {
            try await runReportingFailure {
                let config = try GatewayConfiguration.fromEnvironment()
                let store = try await Bootstrap.openStore(config)
                let org = try await AdminService(store: store).createOrganization(slug: slug, name: name)
                print("Created organisation \(org.slug) (\(org.id))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        func run() async throws {
            try await runReportingFailure {
                let config = try GatewayConfiguration.fromEnvironment()
                let store = try await Bootstrap.openStore(config)
                for org in try await store.organizations() { print("\(org.slug)\t\(org.id)\t\(org.name)") }
            }
        }
    }
}
