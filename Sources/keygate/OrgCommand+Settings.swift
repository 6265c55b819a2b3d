import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

extension OrgCommand {
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
