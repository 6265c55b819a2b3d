import ArgumentParser
import KeygateDashboard
import KeygateServer

/// Dashboard users: the subcommands are in `UserCommand+*.swift`, one per file.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the people who sign in to the dashboard.",
        subcommands: [Create.self, List.self, Remove.self])
}

/// Runs `body` with the dashboard accounts on the server's database, closed afterwards.
func withDashboardAccounts(_ body: (DashboardAccounts) async throws -> Void) async throws {
    try await runReportingFailure {
        let config = try await GatewayConfiguration.load()
        let store = try await Bootstrap.openStore(config)
        do {
            try await body(DashboardAccounts(store: store, hasher: PasswordHasher(cost: config.passwordHashCost)))
        } catch {
            try? await store.close()
            throw error
        }
        try? await store.close()
    }
}
