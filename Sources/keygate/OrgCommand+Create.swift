import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

extension OrgCommand {
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
}
