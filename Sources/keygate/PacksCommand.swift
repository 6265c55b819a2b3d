import ArgumentParser
import KeygateCore
import KeygateServer

/// `keygate packs list`: the credit packs in force (`KEYGATE_PACKS` or the built-in set), as org admins see them.
struct PacksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packs", abstract: "The credit packs org admins can buy.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the packs in force, with their discount against 1 credit = 1 cent.")
        func run() async throws {
            try await runReportingFailure {
                let packs = try Bootstrap.loadPacks(try await GatewayConfiguration.load())
                print("id\tcredits\tprice\tdiscount\tlabel")
                for pack in packs.packs {
                    print("\(pack.id)\t\(pack.credits)\t\(pack.priceText) \(pack.currency)\t\(pack.discountText)%\t\(pack.label)")
                }
            }
        }
    }
}
