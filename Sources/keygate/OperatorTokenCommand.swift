import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

/// `keygate operator-token create|list|revoke`: tokens for the operator's admin API (`/api/admin/…`).
struct OperatorTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator-token", abstract: "Tokens for the operator's admin API (/api/admin/…).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new operator token, once, alone on the last line (only its hash is stored).")
        @Option(help: "Who holds it: named in every audit record it leaves.") var name: String?

        func run() async throws {
            try await withAdminService { admin, _ in
                let store = admin.store
                let (token, plaintext) = try await OperatorTokens(store: store).create(name: name)
                print("Created operator token \(token.id) named '\(token.name)' (\(token.preview)); it is shown once:")
                print(plaintext)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The operator tokens: id, name, preview, created, revoked.")
        func run() async throws {
            try await withAdminService { admin, _ in
                let store = admin.store
                print("id\tname\tpreview\tcreated_ms\trevoked_ms")
                for token in try await OperatorTokens(store: store).list() {
                    print("\(token.id)\t\(token.name)\t\(token.preview)\t\(token.createdAt)\t\(token.revokedAt.map(String.init) ?? "-")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an operator token: it stops working at once.")
        @Argument(help: "The token's id (op_…), as listed.") var id: String
        func run() async throws {
            try await withAdminService { admin, _ in
                let store = admin.store
                try await OperatorTokens(store: store).revoke(id: id)
                print("Revoked operator token \(id)")
            }
        }
    }
}
