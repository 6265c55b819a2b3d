import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "org", abstract: "Manage organisations.",
                                                    subcommands: [Create.self, List.self, Settings.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation.")
        @Argument(help: "URL-safe handle: a-z, 0-9 and '-'.") var slug: String
        @Option(help: "Display name (defaults to the slug).") var name: String?

        func run() async throws {
            try await runReportingFailure {
                let config = try GatewayConfiguration.fromEnvironment()
                let store = try await Bootstrap.openStore(config)
                let org = try await AdminService(store: store).createOrganization(slug: slug, name: name, trial: config.creditPolicy)
                let trial = config.creditPolicy.trialCredits
                print("Created organisation \(org.slug) (\(org.id))" + (trial.value > 0 ? " with \(trial) trial credits for \(config.creditPolicy.trialDays) days" : ""))
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

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or change an organisation's settings.")
        @Argument(help: "Organisation slug.") var slug: String
        @Option(help: "When the organisation's own key is rate limited, retry once on the platform key, billed in credits (on/off).")
        var byokFallbackOnRateLimit: String?

        func run() async throws {
            try await runReportingFailure {
                let config = try GatewayConfiguration.fromEnvironment()
                let store = try await Bootstrap.openStore(config)
                guard let org = try await store.organization(slug: slug) else { throw StoreError.notFound("organisation '\(slug)'") }
                var settings = try await store.organizationSettings(organizationID: org.id)
                if let value = byokFallbackOnRateLimit {
                    guard ["on", "off"].contains(value) else { throw StoreError.invalid("--byok-fallback-on-rate-limit takes on or off") }
                    settings.byokFallbackOnRateLimit = value == "on"
                    try await store.setOrganizationSettings(settings, organizationID: org.id)
                }
                print("byok-fallback-on-rate-limit: \(settings.byokFallbackOnRateLimit ? "on" : "off")")
            }
        }
    }
}
