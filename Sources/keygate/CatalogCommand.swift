import ArgumentParser
import Foundation
import KeygateCore
import KeygateServer

/// The model and price catalog: the subcommands are in `CatalogCommand+*.swift`, one per file.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "List, compare and import the model and price catalog.",
        subcommands: [List.self, Diff.self, Import.self])

    /// The catalog file named, else `KEYGATE_CATALOG`'s, else the built-in one: as written, without the
    /// environment's base-URL overrides (an import must not bake them into the file).
    static func load(path: String?) async throws -> (Catalog, path: String?) {
        let config = try await GatewayConfiguration.load()
        let path = path ?? config.catalogPath
        do {
            return (try path.map { try CatalogLoader.load(path: $0) } ?? CatalogLoader.builtIn(), path)
        } catch let error as CatalogError {
            throw StartupError(error.description)
        }
    }
}

/// `--catalog FILE`, shared by the catalog subcommands.
struct CatalogFileOption: ParsableArguments {
    @Option(help: "The catalog to read (default: KEYGATE_CATALOG, else the built-in one).") var catalog: String?
}
