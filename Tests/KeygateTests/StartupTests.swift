import Foundation
import GRDB
@testable import KeygateSQLite
import KeygateServer
import Logging
import Testing

/// Start-up that cannot work stops with one line that says why, and never prints a secret.
@Suite struct StartupTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("keygate-startup-\(UUID().uuidString)").path
    }

    func startupError(_ environment: [String: String]) async -> String? {
        do {
            let config = try GatewayConfiguration.fromEnvironment(environment)
            let gateway = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
            await gateway.shutdown()
            return nil
        } catch let error as StartupError {
            return error.description
        } catch {
            return "unexpected error type: \(error)"
        }
    }

    #if os(Linux)
        /// `serve` keeps freed memory for reuse (see `MemoryAllocator`); the C shim must really reach glibc's
        /// `mallopt` (a missing `__GLIBC__` once compiled it to a no-op that reported nothing).
        @Test func theAllocatorKeepsFreedMemory() {
            #expect(MemoryAllocator.keepFreedMemory())
        }
    #endif

    @Test func firstRunCreatesTheDataDirectoryDatabaseAndDevelopmentKey() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let capture = LogCapture()
        let config = try GatewayConfiguration.fromEnvironment(["KEYGATE_DATA_DIR": dir])
        let gateway = try await Bootstrap.gateway(config, logger: capture.logger())
        _ = try await gateway.store.createOrganization(slug: "acme", name: "Acme")
        await gateway.shutdown()
        #expect(FileManager.default.fileExists(atPath: dir + "/keygate.db"))
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/master.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let warnings = capture.all.filter { $0.hasPrefix("warning") && $0.contains("KEYGATE_MASTER_KEY") }
        #expect(warnings.count == 1, "one clear warning that production must set a master key")
        let masterKey = FileManager.default.contents(atPath: dir + "/master.key")
        let schema = try Self.schema(dir + "/keygate.db")
        #expect(schema.migrations == SQLiteMigrations.migrator.migrations, "the first start applies every migration")

        // A second start reuses both and migrates nothing new.
        let againCapture = LogCapture()
        let again = try await Bootstrap.gateway(config, logger: againCapture.logger())
        #expect(try await again.store.organization(slug: "acme") != nil, "the same database")
        await again.shutdown()
        #expect(FileManager.default.contents(atPath: dir + "/master.key") == masterKey, "the same master key")
        #expect(againCapture.all.contains { $0.contains("Using the development master key") })
        #expect(!againCapture.all.contains { $0.contains("created a development master key") })
        #expect(try Self.schema(dir + "/keygate.db") == schema, "no migration applied, no table or index changed")
    }

    /// The migrations a database file has applied, in order, and the definition of everything in it.
    static func schema(_ path: String) throws -> Schema {
        let db = try DatabaseQueue(path: path)
        defer { try? db.close() }
        return try db.read { db in
            Schema(
                migrations: try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
                definitions: try String.fetchAll(
                    db, sql: "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name"))
        }
    }

    struct Schema: Equatable {
        let migrations: [String]
        let definitions: [String]
    }

    @Test func aBadMasterKeyStopsStartWithoutEchoingIt() async {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = "c2hvcnQta2V5LXZhbHVl"  // base64 of 15 bytes
        let message = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": bad])
        #expect(message?.contains("KEYGATE_MASTER_KEY") == true, "\(message ?? "started")")
        #expect(message?.contains(bad) == false)
        let notBase64 = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": "%%%not-base64%%%"])
        #expect(notBase64?.contains("base64") == true)
        let missingFile = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY_FILE": dir + "/absent.key"])
        #expect(missingFile?.contains("cannot be read") == true)
    }

    @Test func anUnwritableDataDirectoryStopsStart() async throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A path below a regular file can never be created, whoever runs the test.
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let message = await startupError(["KEYGATE_DATA_DIR": dir + "/file/data"])
        #expect(message?.contains("KEYGATE_DATA_DIR") == true, "\(message ?? "started")")
        let notADirectory = await startupError(["KEYGATE_DATA_DIR": dir + "/file"])
        #expect(notADirectory?.contains("not a directory") == true, "\(notADirectory ?? "started")")
    }

    @Test(arguments: [
        ("mysql://db/keygate", "sqlite:///"),
        ("postgres://u:p@127.0.0.1:1/keygate", "PostgreSQL at postgres://u@127.0.0.1:1/keygate"),
        ("postgres://u:p@localhost/", "names no database"),
        ("postgres://u:p@localhost/keygate?sslmode=verify-full", "sslmode must be disable, prefer or require"),
        ("sqlite://relative.db", "absolute"),
    ])
    func aBadDatabaseURLStopsStart(url: String, expected: String) async {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let message = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_DATABASE_URL": url])
        #expect(message?.contains(expected) == true, "\(message ?? "started")")
        #expect(message?.contains("u:p") == false, "a database password is never printed")
    }

    @Test func anExplicitSQLiteURLIsUsed() async throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try GatewayConfiguration.fromEnvironment([
            "KEYGATE_DATA_DIR": dir + "/data", "KEYGATE_DATABASE_URL": "sqlite://\(dir)/elsewhere.db",
        ])
        let gateway = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
        await gateway.shutdown()
        #expect(FileManager.default.fileExists(atPath: dir + "/elsewhere.db"))
    }

    @Test func aBadCatalogStopsStartNamingTheField() async throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/catalog.json"
        try Data(
            #"{"providers":[{"id":"p","wire_format":"smoke-signals","base_url":"x","validation":{"method":"GET","path":"/","auth":"bearer"}}],"models":[]}"#
                .utf8
        )
        .write(to: URL(fileURLWithPath: path))
        let message = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_CATALOG": path])
        #expect(message?.contains("providers[0].wire_format") == true, "\(message ?? "started")")
        let missing = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_CATALOG": dir + "/absent.json"])
        #expect(missing?.contains("absent.json") == true)
    }

    @Test func badNumbersInTheEnvironmentStopStart() async {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_MAX_BODY_BYTES": "lots"])?.contains("KEYGATE_MAX_BODY_BYTES") == true)
        #expect(
            await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_PROVIDER_OPENAI_IDLE_TIMEOUT": "-1"])?.contains(
                "KEYGATE_PROVIDER_OPENAI_IDLE_TIMEOUT") == true)
    }

    @Test func aBadPacksFileStopsStartNamingTheField() async throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/packs.json"
        try Data(#"{"packs":[{"id":"small","credits":100,"price":"ten","currency":"usd","label":"Small"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let message = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_PACKS": path])
        #expect(message?.contains("packs[0].price") == true, "\(message ?? "started")")
        #expect(await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_PACKS": dir + "/absent.json"])?.contains("absent.json") == true)
    }

    @Test func badPaymentSettingsStopStartWithoutEchoingTheSecret() async {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notAKey = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_STRIPE_SECRET_KEY": "pk_live_PUBLISHABLEkey123"])
        #expect(notAKey?.contains("KEYGATE_STRIPE_SECRET_KEY") == true && notAKey?.contains("PUBLISHABLEkey123") == false)
        let webhook = await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_STRIPE_WEBHOOK_SECRET": "secretWITHOUTprefix"])
        #expect(webhook?.contains("KEYGATE_STRIPE_WEBHOOK_SECRET") == true && webhook?.contains("secretWITHOUTprefix") == false)
        #expect(await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_STRIPE_BASE_URL": "stripe"])?.contains("KEYGATE_STRIPE_BASE_URL") == true)
        #expect(await startupError(["KEYGATE_DATA_DIR": dir, "KEYGATE_TOPUP_RETRY_SECONDS": "0"])?.contains("KEYGATE_TOPUP_RETRY_SECONDS") == true)
    }
}
