import ArgumentParser

/// An organisation's credits: the subcommands are in `CreditsCommand+*.swift`, one per file.
struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credits", abstract: "Grant or adjust an organisation's credits.",
        subcommands: [Grant.self, Adjust.self, Balance.self])
}
