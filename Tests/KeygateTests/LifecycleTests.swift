import Foundation
import GRDB
import KeygateCore
@testable import KeygateServer
import KeygateStore
import Logging
import Testing

/// Background work runs only as services of `keygate serve` (issue 12): building a gateway starts nothing,
/// a CLI command never beats a heartbeat or sweeps, and a graceful stop loses no usage record.
@Suite struct LifecycleTests {
    static let masterKey = Data(repeating: 3, count: 32).base64EncodedString()
    static let newMasterKey = Data(repeating: 4, count: 32).base64EncodedString()

    @Test func buildingAGatewayStartsNothing() async throws {
        try await withDataDirectory { environment, databasePath in
            let config = try GatewayConfiguration.fromEnvironment(environment)
            let store = try await Bootstrap.openStore(config)
            let gateway = try Gateway(
                configuration: config, catalog: try Bootstrap.loadCatalog(config), packs: try Bootstrap.loadPacks(config), store: store,
                keyring: try Bootstrap.loadKeyring(config), logger: Logger(label: "test"))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try Self.snapshot(databasePath).instances == [], "no heartbeat: the sweeper has not run")
            await gateway.shutdown()
        }
    }

    /// `keygate byok list` and `keygate master-key rotate`, run as the built binary on a database where a
    /// sweep would change the ledger (an expired trial, a reservation of a dead process), leave the
    /// instances table and the ledger exactly as they were.
    @Test func keyCommandsNeitherBeatNorSweep() async throws {
        let binary = try #require(Self.keygateBinary(), "the keygate binary next to the test bundle (swift build builds it)")
        try await withDataDirectory { environment, databasePath in
            let config = try GatewayConfiguration.fromEnvironment(environment)
            let store = try await Bootstrap.openStore(config)
            let org = try await AdminService(store: store).createOrganization(slug: "acme", name: nil)
            let now = WallClock.nowMs()
            try await store.addCredits(organizationID: org.id, amount: .credits(100), kind: .grant, reason: "test", trialExpiresAt: nil)
            try await store.addCredits(
                organizationID: org.id, amount: .credits(5), kind: .trialGrant, reason: "expired trial",
                trialExpiresAt: now - 86_400_000)
            try await store.heartbeat(instanceID: "inst_gone", at: now - 600_000)
            let held = try await store.reserve(
                organizationID: org.id, requestID: "req_held", amount: .credits(2), instanceID: "inst_gone",
                leaseExpiresAt: now - 1)
            guard case .reserved = held else { Issue.record("not reserved: \(held)"); return }
            let key = try await Bootstrap.withBYOKService(config, logger: Logger(label: "test")) { service in
                try await service.add(organizationSlug: "acme", provider: "openai", secret: .string("sk-org-key-0123456789"), validate: false)
            }
            try await store.close()
            let before = try Self.snapshot(databasePath)
            #expect(before.instances.count == 1 && before.reservations.count == 1)

            let listed = try Self.run(binary, ["byok", "list", "--org", "acme"], environment: environment)
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.hasPrefix("\(key.id)\topenai\t"), "\(listed.stdout)")
            #expect(try Self.snapshot(databasePath) == before)

            var rotating = environment
            rotating["KEYGATE_MASTER_KEY"] = Self.newMasterKey
            rotating["KEYGATE_MASTER_KEY_PREVIOUS"] = Self.masterKey
            let rotated = try Self.run(binary, ["master-key", "rotate"], environment: rotating)
            #expect(rotated.status == 0, "\(rotated.stderr)")
            #expect(rotated.stdout == "Re-encrypted 1 key under the current master key\n")
            #expect(try Self.snapshot(databasePath) == before)
        }
    }

    /// Records handed to the recorder just before a graceful stop are all in the database when the stop
    /// returns, before the store closes.
    @Test func aGracefulStopWritesEveryQueuedUsageRecord() async throws {
        try await withHarness { h in
            let now = WallClock.nowMs()
            for index in 0..<300 {
                h.gateway.usage.record(
                    UsageRecord(
                        requestID: "req_queued_\(index)", organizationID: h.organization.id, apiKeyID: h.apiKeyID, model: "openai/gpt-5.6-luna",
                        provider: "openai", byok: false, billing: .free, usage: .zero, costUSD: .zero, latencyMs: 1, timeToFirstTokenMs: nil,
                        stream: false, status: 200, errorCode: nil, createdAt: now))
            }
            await h.stopServing()
            let records = try await h.gateway.store.usageRecords(organizationID: h.organization.id, limit: 1000)
            #expect(records.count == 300)
        }
    }

    /// A graceful stop lets a streamed answer in flight finish, and its usage record is written before the
    /// stop returns.
    @Test func aGracefulStopFinishesRequestsInFlight() async throws {
        try await withHarness { h in
            async let reply = h.chat("hello #fake chunks=4 delay_ms=100", stream: true)
            while h.fake.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            await h.stopServing()
            let answer = try await reply
            #expect(answer.status == 200 && answer.text.contains("[DONE]"), "\(answer.text)")
            let records = try await h.gateway.store.usageRecords(organizationID: h.organization.id, limit: 10)
            #expect(records.count == 1 && records.first?.status == 200)
        }
    }

    /// At the end of the shutdown grace (`ShutdownDeadline.cut()`, what `GracefulShutdown` does when
    /// KEYGATE_SHUTDOWN_GRACE_SECONDS is over), a chat stream and a Messages stream still running end with an
    /// error event in their own format, are charged for what they produced, and the stop returns with nothing
    /// left reserved.
    @Test func theShutdownDeadlineCutsStreamsWithAnErrorEventAndSettlesThem() async throws {
        try await withHarness { h in
            async let chat = h.chat("hello #fake chunks=400 delay_ms=25", stream: true)
            async let messages = h.request(
                .POST, "/v1/messages",
                body:
                    #"{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi #fake chunks=400 delay_ms=25"}]}"#
            )
            while h.fake.requests.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(300))
            async let stopped: Void = h.stopServing()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).reserved > .zero, "the stop waits for both")
            h.gateway.shutdownDeadline.cut()
            await stopped

            let chatReply = try await chat
            let chatEvents = ssePayloads(chatReply.text)
            #expect(chatReply.status == 200 && chatEvents.count > 2 && !chatReply.text.contains("[DONE]"), "\(chatReply.text.suffix(300))")
            let chatError = try #require(chatEvents.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any])
            #expect((chatError["error"] as? [String: Any])?["code"] as? String == "server_shutting_down", "\(chatError)")

            let messagesReply = try await messages
            #expect(messagesReply.status == 200 && messagesReply.text.contains("event: content_block_delta"))
            #expect(!messagesReply.text.contains("event: message_stop"), "\(messagesReply.text.suffix(300))")
            let last = try #require(messagesReply.text.components(separatedBy: "\n\n").last { !$0.isEmpty })
            #expect(last.hasPrefix("event: error\ndata: "), "\(last)")
            let anthropicError = try #require(
                try? JSONSerialization.jsonObject(with: Data(last.dropFirst("event: error\ndata: ".count).utf8)) as? [String: Any])
            #expect(anthropicError["type"] as? String == "error", "\(anthropicError)")
            #expect((anthropicError["error"] as? [String: Any])?["type"] as? String != nil)

            let records = try await h.usageRecords(atLeast: 2)
            #expect(records.count == 2)
            for record in records {
                #expect(record.errorCode == "server_shutting_down" && record.creditsCharged > .zero, "\(record)")
            }
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.reserved == .zero)
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// A call that has not started answering when the grace ends gets a 503 `server_shutting_down` and its
    /// whole reservation back.
    @Test func theShutdownDeadlineReturnsAWaitingCallsReservation() async throws {
        try await withHarness { h in
            async let reply = h.chat("hello #fake first_byte_delay_ms=10000")
            while h.fake.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            async let stopped: Void = h.stopServing()
            try await Task.sleep(for: .milliseconds(200))
            h.gateway.shutdownDeadline.cut()
            await stopped
            let answer = try await reply
            #expect(answer.status == 503 && answer.error?["code"] as? String == "server_shutting_down", "\(answer.text)")
            let records = try await h.usageRecords()
            #expect(records.first?.status == 503 && records.first?.creditsCharged == .zero)
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.reserved == .zero && balance.available == .credits(1000))
        }
    }

    // MARK: Support

    /// The tables a heartbeat or a sweep writes, as text rows.
    struct Snapshot: Equatable {
        var instances: [String]
        var ledger: [String]
        var accounts: [String]
        var reservations: [String]
    }

    static func snapshot(_ path: String) throws -> Snapshot {
        var configuration = Configuration()
        configuration.readonly = true
        let db = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? db.close() }
        return try db.read { db in
            func rows(_ sql: String) throws -> [String] { try Row.fetchAll(db, sql: sql).map(\.description) }
            return Snapshot(
                instances: try rows("SELECT * FROM instances ORDER BY id"),
                ledger: try rows("SELECT * FROM ledger_entries ORDER BY id"),
                accounts: try rows("SELECT * FROM credit_accounts ORDER BY organization_id"),
                reservations: try rows("SELECT * FROM reservations ORDER BY request_id"))
        }
    }

    /// A temporary data directory with a fixed master key: the environment and the database's path.
    func withDataDirectory(_ body: ([String: String], String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-lifecycle-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": Self.masterKey], dir + "/keygate.db")
    }

    /// The `keygate` executable of this build: in the folder of the test bundle (SwiftPM puts every product
    /// of a build there), else in `.build/debug` of this checkout.
    static func keygateBinary() -> String? {
        var folders = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
        folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        folders.append(checkout.appendingPathComponent(".build/debug"))
        return folders.map { $0.appendingPathComponent("keygate").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ binary: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
