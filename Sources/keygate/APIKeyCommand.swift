import ArgumentParser
import Foundation
import KeygateServer

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Manage Keygate API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key. The key is printed once, alone on the last line of stdout; only its hash is kept.")
        @OptionGroup var organization: OrganizationOption
        @Option(help: "A name to recognise the key by.") var name: String?
        @Flag(help: "Also allow the organisation's /api/… routes.") var admin = false

        func run() async throws {
            try await withAdminService { service, _ in
                let (record, plaintext) = try await service.createAPIKey(organizationSlug: organization.org, name: name, isAdmin: admin)
                print("Created \(record.isAdmin ? "admin " : "")API key \(record.id) for \(organization.org). It is shown only once:")
                print(plaintext)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's API keys (previews only).")
        @OptionGroup var organization: OrganizationOption
        func run() async throws {
            try await withAdminService { admin, _ in
                for key in try await admin.apiKeys(organizationSlug: organization.org) {
                    print("\(key.id)\t\(key.preview)\t\(key.name)\t\(key.isAdmin ? "admin" : "-")\t\(key.isRevoked ? "revoked" : "active")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key: it stops working at once.")
        @OptionGroup var organization: OrganizationOption
        @Argument(help: "The key id (key_…), as `keygate apikey list` shows.") var id: String
        func run() async throws {
            try await withAdminService { admin, _ in
                try await admin.revokeAPIKey(organizationSlug: organization.org, keyID: id)
                print("Revoked \(id)")
            }
        }
    }
}
