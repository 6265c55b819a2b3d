import ArgumentParser
import KeygateServer

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Check the credit ledger.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove every balance equals the sum of its ledger entries (and reserved equals the open reservations); exits non-zero if not.")
        @Option(help: "Only this organisation.") var org: String?
        @Option(
            help: ArgumentHelp(
                "Also write the result as Prometheus gauges to this file (for node_exporter's textfile collector).",
                valueName: "path"))
        var metricsFile: String?
        func run() async throws {
            try await withAdminService { admin, _ in
                let problems = try await admin.verifyLedger(organizationSlug: org)
                if let metricsFile { try LedgerVerifyMetrics.write(discrepancies: problems.count, to: metricsFile) }
                if problems.isEmpty {
                    print("ledger ok")
                } else {
                    for problem in problems { print("MISMATCH \(problem)") }
                    fail("\(problems.count) balance(s) do not match their ledger entries")
                }
            }
        }
    }
}
