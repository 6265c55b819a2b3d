import ArgumentParser
import KeygateServer

struct MasterKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master-key", abstract: "Rotate the master key that encrypts BYOK keys.",
        subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every stored BYOK key under KEYGATE_MASTER_KEY.",
            discussion: """
                Rotation without downtime:
                  1. Give every server the new key as KEYGATE_MASTER_KEY and the old one as KEYGATE_MASTER_KEY_PREVIOUS, and restart them one by one.
                  2. Run `keygate master-key rotate` with the same two variables.
                  3. Remove KEYGATE_MASTER_KEY_PREVIOUS and restart the servers again.
                Servers keep serving throughout: with both keys they read rows sealed under either.
                """)

        func run() async throws {
            try await withBYOKService { service in
                let count = try await service.rotateMasterKey()
                print("Re-encrypted \(count) key\(count == 1 ? "" : "s") under the current master key")
            }
        }
    }
}
