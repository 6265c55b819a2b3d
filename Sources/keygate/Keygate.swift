import ArgumentParser
import Foundation
import KeygateCore
import KeygateDashboard
import KeygateServer
import KeygateStore
import Logging

@main
struct Keygate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "A self-hosted LLM gateway: one OpenAI-compatible API, billed by credits or the organisation's own keys.",
        subcommands: [
            Serve.self, OrgCommand.self, APIKeyCommand.self, BYOKCommand.self, MasterKeyCommand.self, CreditsCommand.self, LedgerCommand.self,
            PacksCommand.self, TopUpCommand.self, UserCommand.self, MigrateDataCommand.self, CatalogCommand.self, OperatorTokenCommand.self,
            ConfigCommand.self,
        ])
}

/// Runs a command body, turning a start-up, store or service failure into one line on stderr and exit status 1.
func runReportingFailure(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as StartupError {
        fail(error.description)
    } catch let error as StoreError {
        fail(error.description)
    } catch let error as GatewayError {
        fail(error.message)
    } catch let error as DashboardAccountError {
        fail(error.description)
    } catch let error as DashboardStartupError {
        fail(error.description)
    }
}

/// Runs `body` with the operator actions on the database the server uses (configured by the environment),
/// and closes it afterwards; failures are reported as by `runReportingFailure`.
func withAdminService(_ body: (AdminService, GatewayConfiguration) async throws -> Void) async throws {
    try await runReportingFailure {
        let config = try await GatewayConfiguration.load()
        let store = try await Bootstrap.openStore(config)
        do {
            try await body(AdminService(store: store), config)
        } catch {
            try? await store.close()
            throw error
        }
        try? await store.close()
    }
}

/// Runs `body` with the BYOK service on the server's database and master key: no server, heartbeat or sweep.
func withBYOKService(_ body: (BYOKService) async throws -> Void) async throws {
    try await runReportingFailure {
        let config = try await GatewayConfiguration.load()
        try await Bootstrap.withBYOKService(config, logger: makeLogger(config, level: .warning), body)
    }
}

func fail(_ reason: String) -> Never {
    FileHandle.standardError.write(Data("keygate: \(reason)\n".utf8))
    Foundation.exit(1)
}

/// Logs go to stderr as JSON lines, so stdout carries only command output (a new API key alone on its last line).
func makeLogger(_ config: GatewayConfiguration, level minimum: Logger.Level? = nil) -> Logger {
    LogLevelControl.process.level = max(Logger.Level(rawValue: config.logLevel) ?? .info, minimum ?? .trace)
    LoggingSystem.bootstrap { label in JSONLinesLogHandler(label: label, control: LogLevelControl.process) }
    return Logger(label: "keygate")
}
