import Foundation
import KeygateCore
import KeygatePostgres
import KeygateSQLite
import KeygateServer
import KeygateStore
import Testing

/// `keygate migrate-data`: an embedded install with something in every area is copied to an empty
/// PostgreSQL database, and both sides agree (counts, balances, ledger verify); a non-empty target is refused
/// and left as it was. Runs when `KEYGATE_TEST_DATABASE_URL` names a server.
@Suite(.enabled(if: StoreBackend.postgres != nil)) struct DataMigrationTests {
    @Test func anEmbeddedInstallMovesToPostgreSQLWithNothingLost() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-migrate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try SQLiteStore(path: dir + "/k.db")
        try await source.migrate()
        let admin = AdminService(store: source)
        let acme = try await admin.createOrganization(slug: "acme", name: "Acme")
        let beta = try await admin.createOrganization(slug: "beta", name: "Beta")
        let (key, _) = try await admin.createAPIKey(organizationSlug: "acme", name: "ci", isAdmin: true)
        try await source.addCredits(organizationID: acme.id, amount: .credits(50), kind: .grant, reason: "start", trialExpiresAt: nil)
        try await source.addCredits(
            organizationID: beta.id, amount: .credits(5), kind: .trialGrant, reason: "trial", trialExpiresAt: 1_900_000_000_000)
        _ = try await source.reserve(
            organizationID: acme.id, requestID: "req_1", amount: .credits(2), instanceID: "inst_a", leaseExpiresAt: WallClock.nowMs() + 60_000)
        let record = UsageRecord(
            requestID: "req_1", organizationID: acme.id, apiKeyID: key.id, model: "openai/a", provider: "openai", byok: false, billing: .credits,
            usage: TokenUsage(inputTokens: 10, outputTokens: 4, cachedInputTokens: 0, reasoningTokens: 0, estimated: false),
            costUSD: PicoUSD(1_000), creditsCharged: .credits(1), latencyMs: 5, timeToFirstTokenMs: nil, stream: false, status: 200,
            errorCode: nil, createdAt: WallClock.nowMs())
        _ = try await source.settle(requestID: "req_1", cost: .credits(1), fee: .zero, record: record)
        _ = try await source.reserve(
            organizationID: acme.id, requestID: "req_open", amount: .credits(3), instanceID: "inst_a", leaseExpiresAt: WallClock.nowMs() + 60_000)
        try await source.addBYOKKey(
            BYOKKeyRecord(
                id: "byok_1", organizationID: acme.id, provider: "openai", ciphertext: [1, 2, 3, 0, 255], masterKeyID: "mk_1", preview: "sk-…abcd",
                status: .active, createdAt: 1, lastValidatedAt: nil, lastValidationResult: "skipped"))
        try await PaymentConformanceTests.buy(source, acme.id, id: "pur_1", card: "pm_1")
        let user = try await source.createUser(email: "ada@example.com", passwordHash: "$2b$04$hash")
        try await source.setMembership(userID: user.id, organizationID: acme.id, role: .admin)
        let balancesBefore = [try await source.balance(organizationID: acme.id), try await source.balance(organizationID: beta.id)]

        try await StoreBackend.postgres!.open().use { database in
            guard let target = database.store as? PostgresStore else { throw StoreError.invalid("not a PostgresStore") }
            try await target.migrate()
            let report = try await DataMigration(source: source, target: target).run()
            #expect(report.organizations == 2)
            #expect(report.rows.first { $0.table == "ledger_entries" }?.count ?? 0 >= 6)
            #expect(try await target.balance(organizationID: acme.id) == balancesBefore[0])
            #expect(try await target.balance(organizationID: beta.id) == balancesBefore[1])
            #expect(try await target.byokKey(id: "byok_1", organizationID: acme.id)?.ciphertext == [1, 2, 3, 0, 255])
            #expect(try await target.usageRecords(organizationID: acme.id, limit: 10) == [record])
            #expect(try await target.apiKeys(organizationID: acme.id).map(\.hash) == [key.hash])
            #expect(try await target.user(email: "ada@example.com")?.id == user.id)
            #expect(try await target.memberships(userID: user.id).map(\.role) == [.admin])
            #expect(try await target.purchase(id: "pur_1")?.status == .succeeded)
            #expect(try await target.verifyLedger(organizationID: nil).isEmpty)
            // The copied ledger goes on: a new entry gets an id after the copied ones.
            let entries = try await target.ledgerEntries(organizationID: acme.id, limit: 100)
            try await target.addCredits(organizationID: acme.id, amount: .credits(1), kind: .grant, reason: "after", trialExpiresAt: nil)
            #expect(try await target.ledgerEntries(organizationID: acme.id, limit: 1).first?.id ?? 0 > entries.map(\.id).max() ?? 0)
            // The open reservation came along, so the sweeper can still return it.
            #expect(try await target.releaseAbandonedReservations(now: WallClock.nowMs() + 120_000, deadBefore: 0) == 1)

            let counts = try await target.rowCounts()
            await #expect(throws: StoreError.self) { try await DataMigration(source: source, target: target).run() }
            #expect(try await target.rowCounts() == counts, "a refused copy changes nothing")
            try await target.close()
        }
        try await source.close()
    }
}
