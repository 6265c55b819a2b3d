import ArgumentParser
import KeygateCore

extension CatalogCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The models of the catalog in force, with prices in USD per million tokens.")
        @OptionGroup var file: CatalogFileOption
        @Option(help: "Only this provider's models.") var provider: String?

        func run() async throws {
            try await runReportingFailure {
                let (catalog, _) = try await CatalogCommand.load(path: file.catalog)
                if let provider, catalog.provider(named: provider) == nil {
                    fail("unknown provider '\(provider)'; the catalog has \(catalog.providers.map(\.id).joined(separator: ", "))")
                }
                print(CatalogListing.header)
                for line in CatalogListing.lines(catalog, provider: provider) { print(line) }
            }
        }
    }
}
