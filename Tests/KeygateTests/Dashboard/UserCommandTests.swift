import Foundation
import Testing

/// `keygate user create|list|remove`, run as the operator runs them.
@Suite struct UserCommandTests {
    static func run(
        _ binary: String, _ arguments: [String], stdin: String, environment: [String: String]
    ) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func usersAreCreatedListedAddedAndRemoved() throws {
        let binary = try #require(LifecycleTests.keygateBinary(), "the keygate executable is built")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": LifecycleTests.masterKey, "KEYGATE_LOG_LEVEL": "error"]
        let run = { (arguments: [String], stdin: String) throws in try Self.run(binary, arguments, stdin: stdin, environment: environment) }
        let password = "a long enough password"

        #expect(try run(["org", "create", "acme"], "").status == 0)
        #expect(try run(["org", "create", "beta"], "").status == 0)
        let short = try run(["user", "create", "--org", "acme", "--email", "ada@example.com"], "short\n")
        #expect(short.status != 0)
        #expect(short.stderr.contains("at least 10 characters"), "\(short.stderr)")
        let badRole = try run(["user", "create", "--org", "acme", "--email", "ada@example.com", "--role", "owner"], password + "\n")
        #expect(badRole.status != 0)

        let created = try run(["user", "create", "--org", "acme", "--email", "ada@example.com", "--role", "admin"], password + "\n")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("Created user ada@example.com"))
        #expect(!created.stdout.contains(password) && !created.stderr.contains(password))
        let added = try run(["user", "create", "--org", "beta", "--email", "ADA@example.com"], "")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("Added existing user ada@example.com"), "\(added.stdout)")

        let list = try run(["user", "list", "--org", "acme"], "")
        #expect(list.status == 0)
        #expect(list.stdout.contains("ada@example.com\tadmin\tusr_"), "\(list.stdout)")
        #expect(try run(["user", "list", "--org", "beta"], "").stdout.contains("ada@example.com\tmember"))

        #expect(try run(["user", "remove", "--org", "acme", "--email", "ada@example.com"], "").status == 0)
        #expect(try run(["user", "list", "--org", "acme"], "").stdout.contains("No users in acme"))
        let again = try run(["user", "remove", "--org", "acme", "--email", "ada@example.com"], "")
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not a member of acme"))
        #expect(try run(["user", "list", "--org", "nobody"], "").status != 0)

        // The password never reaches the database in plaintext.
        for name in ["keygate.db", "keygate.db-wal"] {
            if let bytes = FileManager.default.contents(atPath: dir + "/" + name) {
                #expect(bytes.range(of: Data(password.utf8)) == nil, "\(name) holds the password")
            }
        }
    }
}
