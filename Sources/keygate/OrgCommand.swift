import ArgumentParser

/// Organisations: the subcommands are in `OrgCommand+*.swift`, one per file.
struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organisations.",
        subcommands: [Create.self, List.self, Settings.self])
}
