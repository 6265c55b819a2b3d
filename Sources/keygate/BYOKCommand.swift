import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer
import KeygateStore

struct BYOKCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "byok", abstract: "Manage an organisation's own provider keys (BYOK).",
        subcommands: [Add.self, List.self, Deactivate.self, Activate.self, Remove.self])

    /// The organisation and key a subcommand acts on.
    struct KeyArguments: ParsableArguments {
        @OptionGroup var organization: OrganizationOption
        @Argument(help: "Key id (byok_…).") var id: String

        /// `activate` and `deactivate`: one implementation, the subcommand says which.
        func setActive(_ active: Bool) async throws {
            try await withBYOKService { service in
                let key = try await service.setActive(organizationSlug: organization.org, keyID: id, active: active)
                print("\(key.id) is \(key.status.rawValue)")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Store a provider key read from standard input (JSON for aws and azure). It is validated with the provider first, encrypted, and becomes the organisation's active key for that provider."
        )
        @OptionGroup var organization: OrganizationOption
        @Option(help: "Provider id (openai, anthropic, google, aws, azure, openrouter, …).") var provider: String
        @Flag(help: "Store the key without checking it with the provider.") var noValidate = false

        func run() async throws {
            let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await withBYOKService { service in
                let key = try await service.add(organizationSlug: organization.org, provider: provider, secret: .string(input), validate: !noValidate)
                print(
                    "Stored \(key.provider) key \(key.id) (\(key.preview)) for \(organization.org): active, validation \(key.lastValidationResult ?? "-")"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's keys (previews only).")
        @OptionGroup var organization: OrganizationOption
        func run() async throws {
            try await withBYOKService { service in
                for key in try await service.list(organizationSlug: organization.org) {
                    print("\(key.id)\t\(key.provider)\t\(key.preview)\t\(key.status.rawValue)\t\(key.lastValidationResult ?? "-")")
                }
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop using a key: the provider's requests go back to the platform account.")
        @OptionGroup var key: KeyArguments
        func run() async throws { try await key.setActive(false) }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Use a key again (another active key of its provider becomes inactive).")
        @OptionGroup var key: KeyArguments
        func run() async throws { try await key.setActive(true) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key for good.")
        @OptionGroup var key: KeyArguments
        func run() async throws {
            try await withBYOKService { service in
                try await service.remove(organizationSlug: key.organization.org, keyID: key.id)
                print("Removed \(key.id)")
            }
        }
    }
}
