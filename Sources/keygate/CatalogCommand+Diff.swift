import ArgumentParser
import KeygateCore
import KeygateServer

extension CatalogCommand {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What putting FILE in force would change: models added (+), removed (-) and repriced (~).")
        @OptionGroup var file: CatalogFileOption
        @Argument(help: "The catalog file to compare with the one in force.") var other: String

        func run() async throws {
            try await runReportingFailure {
                let (current, _) = try await CatalogCommand.load(path: file.catalog)
                let candidate: Catalog
                do {
                    candidate = try CatalogLoader.load(path: other)
                } catch let error as CatalogError {
                    throw StartupError(error.description)
                }
                let diff = CatalogDiff(from: current, to: candidate)
                for line in diff.lines { print(line) }
                print(diff.summary)
            }
        }
    }
}
