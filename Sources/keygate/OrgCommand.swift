import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organisations.",
        subcommands: [Create.self, List.self, Settings.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation.")
        @Argument(help: "URL-safe handle: a-z, 0-9 and '-'.") var slug: String
        @Option(help: "Display name (defaults to the slug).") var name: String?

        func run() async throws {
            try await withAdminService { admin, config in
                let org = try await admin.createOrganization(slug: slug, name: name, trial: config.creditPolicy)
                let trial = config.creditPolicy.trialCredits
                print(
                    "Created organisation \(org.slug) (\(org.id))"
                        + (trial.value > 0 ? " with \(trial) trial credits for \(config.creditPolicy.trialDays) days" : ""))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        func run() async throws {
            try await withAdminService { admin, _ in
                for org in try await admin.organizations() { print("\(org.slug)\t\(org.id)\t\(org.name)") }
            }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or change an organisation's settings.")
        @Argument(help: "Organisation slug.") var slug: String
        @Option(help: "When the organisation's own key is rate limited, retry once on the platform key, billed in credits (on/off).")
        var byokFallbackOnRateLimit: String?

        func run() async throws {
            try await withAdminService { admin, _ in
                var settings = try await admin.settings(organizationSlug: slug)
                if let value = byokFallbackOnRateLimit {
                    guard ["on", "off"].contains(value) else { throw StoreError.invalid("--byok-fallback-on-rate-limit takes on or off") }
                    settings = try await admin.updateSettings(organizationSlug: slug, byokFallbackOnRateLimit: value == "on")
                }
                print("byok-fallback-on-rate-limit: \(settings.byokFallbackOnRateLimit ? "on" : "off")")
            }
        }
    }
}
