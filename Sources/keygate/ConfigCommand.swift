import ArgumentParser
import KeygateCore
import KeygateServer
import Foundation

/// `keygate config check`: the configuration `keygate serve` would run with, checked, with every secret redacted.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The configuration (environment over config file).", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the configuration and print it, secrets redacted; exits 1 naming the first setting that is wrong.")

        @Option(help: "A YAML config file (default: KEYGATE_CONFIG, if set).") var config: String?
        @Flag(help: "Print JSON instead of columns.") var json = false

        func run() async throws {
            try await runReportingFailure {
                let report = try ConfigurationReport.check(try await GatewayConfiguration.load(configFile: config))
                print(json ? String(decoding: report.json.encoded(), as: UTF8.self) : report.text)
            }
        }
    }
}
