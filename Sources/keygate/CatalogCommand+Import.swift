import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer

extension CatalogCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import LiteLLM's model_prices_and_context_window.json into a catalog file.",
            discussion: """
                Models for Keygate's providers replace those an earlier import wrote ("source": "litellm"); the \
                operator's own entries are kept as they are, and markups (markup_basis_points on a provider or \
                an imported model) are applied to LiteLLM's prices. The new file takes effect on SIGHUP or at the next start.
                """)
        @OptionGroup var file: CatalogFileOption
        @Option(help: "LiteLLM's price map (model_prices_and_context_window.json).") var litellm: String
        @Option(help: "Where to write the result (default: the catalog read, unless that is the built-in one).") var output: String?
        @Option(help: "Leave out models LiteLLM deprecates before this day, YYYY-MM-DD (default: today).") var asOf: String?

        func run() async throws {
            try await runReportingFailure {
                let (current, path) = try await CatalogCommand.load(path: file.catalog)
                guard let target = output ?? path else {
                    fail("the catalog in force is the built-in one: name the file to write with --output")
                }
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: litellm))
                } catch {
                    fail("cannot read the LiteLLM price map \(litellm)")
                }
                let today = asOf ?? String(ISO8601DateFormatter().string(from: Date()).prefix(10))
                let (catalog, report): (Catalog, CatalogImportReport)
                do {
                    (catalog, report) = try LiteLLMImporter.importing(data, into: current, today: today)
                    // What is written must load: checked before the file is replaced.
                    _ = try CatalogLoader.parse(Data(CatalogWriter.text(catalog).utf8), path: target)
                } catch let error as CatalogError {
                    throw StartupError(error.description)
                }
                do {
                    try Data(CatalogWriter.text(catalog).utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
                } catch {
                    fail("cannot write \(target)")
                }
                print(report.summary)
                print("wrote \(catalog.models.count) models to \(target); it takes effect on SIGHUP (kill -HUP) or at the next start")
            }
        }
    }
}
