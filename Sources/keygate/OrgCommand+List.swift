import ArgumentParser
import Foundation
import KeygateServer
import KeygateStore

extension OrgCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        func run() async throws {
            try await withAdminService { admin, _ in
                for org in try await admin.organizations() { print("\(org.slug)\t\(org.id)\t\(org.name)") }
            }
        }
    }
}
