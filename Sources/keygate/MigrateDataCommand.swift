import ArgumentParser
import Foundation
import KeygatePostgres
import KeygateSQLite
import KeygateServer
import KeygateStore

/// `keygate migrate-data --from sqlite:///abs/keygate.db --to postgres://…`: see `DataMigration`.
struct MigrateDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-data",
        abstract: "Copy an embedded (SQLite) install into an empty PostgreSQL database, then check both sides agree.",
        discussion: "Stop every keygate serve first. The target must be empty; its schema is created if missing.")

    @Option(help: "The install to copy: sqlite:///absolute/path/keygate.db")
    var from: String

    @Option(help: "The empty PostgreSQL database: postgres://user:password@host:5432/database")
    var to: String

    func run() async throws {
        try await runReportingFailure {
            guard from.hasPrefix("sqlite:///"), from.count > "sqlite:///".count else {
                throw StartupError("--from must name the SQLite file: sqlite:///absolute/path/keygate.db")
            }
            let path = String(from.dropFirst("sqlite://".count))
            guard FileManager.default.fileExists(atPath: path) else { throw StartupError("--from names \(path), which does not exist") }
            guard PostgresDatabaseURL.isPostgres(to) else { throw StartupError("--to must be a postgres:// URL") }
            let url: PostgresDatabaseURL
            do { url = try PostgresDatabaseURL(parsing: to) } catch let error as PostgresURLError { throw StartupError(error.description) }
            let source = try SQLiteStore(path: path)
            let target = PostgresStore(url: url)
            do {
                try await source.migrate()
                try await target.migrate()
                let report = try await DataMigration(source: source, target: target).run()
                for (table, count) in report.rows { print("\(table): \(count) rows") }
                print("copied \(report.organizations) organisations to \(url); row counts, balances and ledger verify agree on both sides")
            } catch {
                try? await source.close()
                try? await target.close()
                throw error
            }
            try? await source.close()
            try? await target.close()
        }
    }
}
