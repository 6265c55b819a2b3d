import Foundation
import GRDB
import KeygateCore
import KeygateServer
@testable import KeygateStore
import Testing

@Suite struct LedgerTests {
    func withLedger(_ body: (SQLiteStore, String, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/k.db")
        try await store.migrate()
        let org = try await store.createOrganization(slug: "acme", name: "Acme")
        try await store.heartbeat(instanceID: "i1", at: Clock.nowMs())
        try await body(store, org.id, dir + "/k.db")
        #expect(try await store.verifyLedger(organizationID: nil).isEmpty, "the balance is always the sum of its entries")
        try await store.close()
    }

    /// A database file as an older Keygate left it: migrated up to `migration` and filled by `seed` (SQL), then
    /// opened by a `SQLiteStore`, which applies the later migrations, for `body` (the store and the file's path).
    func withDatabase(migratedUpTo migration: String, seed: String, _ body: (SQLiteStore, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-migration-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/k.db"
        let old = try DatabasePool(path: path)
        try SQLiteMigrations.migrator.migrate(old, upTo: migration)
        try await old.write { db in try db.execute(sql: seed) }
        try old.close()
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await body(store, path)
        try await store.close()
    }

    static func credits(_ n: Int64) -> MicroCredits { .credits(n) }
    static let far = Int64.max / 2

    @Test func reserveSettleReleasesTheExcessAndChargesOnce() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: "test", trialExpiresAt: nil)
            #expect(try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(4), instanceID: "i1", leaseExpiresAt: Self.far)
                    == .reserved(trial: .zero, regular: Self.credits(4)))
            var balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(6) && balance.reserved == Self.credits(4) && balance.total == Self.credits(10))
            let settled = try await store.settle(requestID: "r1", cost: MicroCredits(1_250_000), fee: MicroCredits(68_750))
            #expect(settled.applied)
            balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == .zero)
            #expect(balance.available == MicroCredits(10_000_000 - 1_250_000 - 68_750))
            // Settling again (a retry) charges nothing.
            #expect(!(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)).applied)
            #expect(try await store.balance(organizationID: org) == balance)
            let kinds = try await store.ledgerEntries(organizationID: org, limit: 10).map(\.kind)
            #expect(kinds == [.release, .fee, .settle, .reserve, .grant])
        }
    }

    @Test func aFailedRequestReleasesEverything() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(5), instanceID: "i1", leaseExpiresAt: Self.far)
            #expect(try await store.balance(organizationID: org).available == .zero)
            #expect(try await store.release(requestID: "r1", reason: "upstream failed"))
            #expect(!(try await store.release(requestID: "r1", reason: "again")))
            #expect(try await store.balance(organizationID: org).available == Self.credits(5))
        }
    }

    @Test func aRequestThatOutlivedItsReservationIsStillCharged() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: 0)
            #expect(try await store.releaseAbandonedReservations(now: Clock.nowMs(), deadBefore: 0) == 1)
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero).applied)
            #expect(try await store.balance(organizationID: org).available == Self.credits(4))
            #expect(!(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)).applied, "and only once")
        }
    }

    @Test func anInsufficientBalanceReservesNothing() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(1), kind: .grant, reason: nil, trialExpiresAt: nil)
            let outcome = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: Self.far)
            guard case .insufficient(let balance) = outcome else { Issue.record("reserved beyond the balance"); return }
            #expect(balance.available == Self.credits(1))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 10).count == 1)
        }
    }

    @Test func anOverageIsChargedFromAvailableNeverDropped() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(3), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
            _ = try await store.settle(requestID: "r1", cost: Self.credits(2), fee: .zero)
            let balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(1) && balance.reserved == .zero)
            let settle = try #require(try await store.ledgerEntries(organizationID: org, limit: 10).first { $0.kind == .settle })
            #expect(settle.reason == "overage")
            #expect(settle.totalDelta == MicroCredits(-2_000_000))
        }
    }

    @Test func trialCreditsAreSpentFirstAndExpire() async throws {
        try await withLedger { store, org, _ in
            let expiry = Clock.nowMs() + 60_000
            try await store.addCredits(organizationID: org, amount: Self.credits(2), kind: .trialGrant, reason: "trial", trialExpiresAt: expiry)
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .purchase, reason: "pack", trialExpiresAt: nil)
            #expect(try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(3), instanceID: "i1", leaseExpiresAt: Self.far)
                    == .reserved(trial: Self.credits(2), regular: Self.credits(1)))
            _ = try await store.settle(requestID: "r1", cost: MicroCredits(1_500_000), fee: .zero)
            var balance = try await store.balance(organizationID: org)
            #expect(balance.trial == MicroCredits(500_000), "the cost came out of the trial part first")
            #expect(balance.regular == Self.credits(10))
            #expect(balance.trialExpiresAt == expiry)
            #expect(try await store.expireTrialCredits(now: expiry - 1) == 0)
            #expect(try await store.expireTrialCredits(now: expiry) == 1)
            balance = try await store.balance(organizationID: org)
            #expect(balance.trial == .zero && balance.regular == Self.credits(10))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 1).first?.kind == .expiry)
        }
    }

    @Test func abandonedReservationsAreReleasedAfterTheirProcessStops() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            let now = Clock.nowMs()
            try await store.heartbeat(instanceID: "dead", at: now - 600_000)
            _ = try await store.reserve(organizationID: org, requestID: "alive", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
            _ = try await store.reserve(organizationID: org, requestID: "orphan", amount: Self.credits(2), instanceID: "dead", leaseExpiresAt: Self.far)
            _ = try await store.reserve(organizationID: org, requestID: "expired", amount: Self.credits(3), instanceID: "i1", leaseExpiresAt: now - 1)
            #expect(try await store.releaseAbandonedReservations(now: now, deadBefore: now - 90_000) == 2)
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == Self.credits(1) && balance.available == Self.credits(9))
        }
    }

    @Test func twoHundredConcurrentReservationsFromTwoProcessesNeverOverspend() async throws {
        try await withLedger { store, org, path in
            // A second, independent connection pool on the same file stands in for a second process.
            let other = try SQLiteStore(path: path)
            try await store.addCredits(organizationID: org, amount: Self.credits(50), kind: .grant, reason: nil, trialExpiresAt: nil)
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<200 {
                    let target = i % 2 == 0 ? store : other
                    group.addTask {
                        let outcome = try await target.reserve(organizationID: org, requestID: "r\(i)", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
                        guard case .reserved = outcome else { return false }
                        _ = try await target.settle(requestID: "r\(i)", cost: Self.credits(1), fee: .zero)
                        return true
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 50)
            let balance = try await store.balance(organizationID: org)
            #expect(balance.available == .zero && balance.reserved == .zero)
            let settles = try await store.ledgerEntries(organizationID: org, limit: 1000).filter { $0.kind == .settle }
            #expect(settles.count == 50, "every accepted request charged exactly once")
            try await other.close()
        }
    }

    /// Writes waiting together share one transaction (group commit); one that fails halfway (here a duplicate
    /// request id, refused after its balance update already ran) must leave no trace, and the others must land.
    @Test func aWriteThatFailsInsideABatchLeavesNoTraceAndTheRestCommit() async throws {
        try await withLedger { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(100), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "dup", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let id = i % 8 == 0 ? "dup" : "r\(i)"
                        return (try? await store.reserve(organizationID: org, requestID: id, amount: Self.credits(1), instanceID: "i1",
                                                         leaseExpiresAt: Self.far)) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { !$0 }.count == 8, "each duplicate fails alone")
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == Self.credits(57) && balance.available == Self.credits(43))
            let reserves = try await store.ledgerEntries(organizationID: org, limit: 1000).filter { $0.kind == .reserve }
            #expect(reserves.count == 57)
        }
    }

    /// A charge and its usage record are one transaction: both land, or (here: the record refers to an API key
    /// that does not exist) neither does and the reservation stays open for a retry or the sweeper.
    @Test func aSettlementAndItsUsageRecordLandTogetherOrNotAtAll() async throws {
        try await withLedger { store, org, _ in
            let key = try await store.createAPIKey(NewAPIKey(organizationID: org, name: "k", lookupID: "abcdefabcdef", hash: Array(repeating: 1, count: 32),
                                                             preview: "kg_…", isAdmin: false))
            func record(_ id: String, apiKeyID: String) -> UsageRecord {
                UsageRecord(requestID: id, organizationID: org, apiKeyID: apiKeyID, model: "openai/gpt-5.6-luna", provider: "openai",
                            byok: false, billing: .credits, usage: TokenUsage(inputTokens: 10, outputTokens: 5), costUSD: .zero,
                            creditsCharged: Self.credits(1), latencyMs: 1, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil,
                            createdAt: Clock.nowMs())
            }
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            for id in ["r1", "r2"] {
                _ = try await store.reserve(organizationID: org, requestID: id, amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: Self.far)
            }
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero, record: record("r1", apiKeyID: key.id)).applied)
            await #expect(throws: (any Error).self) {
                try await store.settle(requestID: "r2", cost: Self.credits(1), fee: .zero, record: record("r2", apiKeyID: "key_missing"))
            }
            let records = try await store.usageRecords(organizationID: org, limit: 10)
            #expect(records.map(\.requestID) == ["r1"])
            let settles = try await store.ledgerEntries(organizationID: org, limit: 20).filter { $0.kind == .settle }
            #expect(settles.map(\.requestID) == ["r1"])
            #expect(try await store.balance(organizationID: org).reserved == Self.credits(2), "r2 is still reserved")
        }
    }

    /// Settled, or returned by its own request: the reservation row goes and its ledger entries stay. Returned
    /// by the sweeper (its request may still be running): it stays, so a late settlement still charges.
    @Test func aFinishedReservationLeavesOnlyItsLedgerEntriesBehind() async throws {
        try await withLedger { store, org, path in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            for id in ["r1", "r2", "r3"] {
                _ = try await store.reserve(organizationID: org, requestID: id, amount: Self.credits(2), instanceID: "i1",
                                            leaseExpiresAt: id == "r3" ? 0 : Self.far)
            }
            _ = try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)
            _ = try await store.release(requestID: "r2", reason: "failed")
            #expect(try await store.releaseAbandonedReservations(now: Clock.nowMs(), deadBefore: 0) == 1)
            let db = try DatabaseQueue(path: path)
            let states = try await db.read { db in try String.fetchAll(db, sql: "SELECT request_id || ':' || state FROM reservations ORDER BY request_id") }
            #expect(states == ["r3:released"], "only the sweeper's stays: a late settlement must still find it")
            let entries = try await store.ledgerEntries(organizationID: org, limit: 20)
            #expect(entries.filter { $0.requestID == "r1" }.map(\.kind) == [.release, .settle, .reserve])
            #expect(entries.filter { $0.requestID == "r2" }.map(\.kind) == [.release, .reserve])
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
            try await db.close()
        }
    }

    /// A database made before migration 004 (ledger ids with AUTOINCREMENT, settled reservations kept) keeps
    /// every entry and id, loses only its settled reservations, and numbers new entries after the old ones.
    @Test func migration004KeepsTheLedgerAndDropsSettledReservations() async throws {
        try await withDatabase(migratedUpTo: "003_credit_ledger", seed: """
                INSERT INTO organizations (id, slug, name, created_at) VALUES ('org_1', 'acme', 'Acme', 0);
                INSERT INTO credit_accounts (organization_id, regular_micros, reserved_micros, updated_at) VALUES ('org_1', 7000000, 2000000, 0);
                INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                  available_after_micros, reserved_after_micros, request_id, reason, created_at) VALUES
                  ('org_1', 'grant', 10000000, 0, 0, 10000000, 0, NULL, NULL, 0),
                  ('org_1', 'reserve', -2000000, 0, 2000000, 8000000, 2000000, 'r1', NULL, 0),
                  ('org_1', 'settle', 0, 0, -1000000, 8000000, 1000000, 'r1', NULL, 0),
                  ('org_1', 'release', 1000000, 0, -1000000, 9000000, 0, 'r1', NULL, 0),
                  ('org_1', 'reserve', -2000000, 0, 2000000, 7000000, 2000000, 'r2', NULL, 0);
                INSERT INTO reservations (request_id, organization_id, trial_micros, regular_micros, state, instance_id, lease_expires_at, created_at) VALUES
                  ('r1', 'org_1', 0, 2000000, 'settled', 'i1', 0, 0), ('r2', 'org_1', 0, 2000000, 'open', 'i1', \(Self.far), 0);
                """) { store, _ in
            let before = try await store.ledgerEntries(organizationID: "org_1", limit: 10)
            #expect(before.map(\.id) == [5, 4, 3, 2, 1])
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
            #expect(try await store.settle(requestID: "r2", cost: Self.credits(1), fee: .zero).applied, "the open reservation survived")
            #expect(!(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)).applied, "the settled one is not charged again")
            let after = try await store.ledgerEntries(organizationID: "org_1", limit: 10)
            #expect(after.map(\.id) == [7, 6, 5, 4, 3, 2, 1], "new entries follow the old ones")
            #expect(try await store.balance(organizationID: "org_1").available == Self.credits(8))
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// A database made before migration 005 keeps its open reservations, which still settle (or are swept)
    /// without the sweeper's old index.
    @Test func migration005KeepsOpenReservations() async throws {
        try await withDatabase(migratedUpTo: "004_lean_ledger_writes", seed: """
                INSERT INTO organizations (id, slug, name, created_at) VALUES ('org_1', 'acme', 'Acme', 0);
                INSERT INTO credit_accounts (organization_id, regular_micros, reserved_micros, updated_at) VALUES ('org_1', 6000000, 4000000, 0);
                INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                  available_after_micros, reserved_after_micros, request_id, reason, created_at) VALUES
                  ('org_1', 'grant', 10000000, 0, 0, 10000000, 0, NULL, NULL, 0),
                  ('org_1', 'reserve', -2000000, 0, 2000000, 8000000, 2000000, 'r1', NULL, 0),
                  ('org_1', 'reserve', -2000000, 0, 2000000, 6000000, 4000000, 'r2', NULL, 0);
                INSERT INTO reservations (request_id, organization_id, trial_micros, regular_micros, state, instance_id, lease_expires_at, created_at)
                  VALUES ('r1', 'org_1', 0, 2000000, 'open', 'i1', \(Self.far), 0), ('r2', 'org_1', 0, 2000000, 'open', 'i1', 0, 0);
                INSERT INTO instances (id, heartbeat_at) VALUES ('i1', 1);
                """) { store, path in
            #expect(try await store.releaseAbandonedReservations(now: Clock.nowMs(), deadBefore: 0) == 1, "r2's lease ended")
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero).applied)
            #expect(try await store.balance(organizationID: "org_1").available == Self.credits(9))
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
            let db = try DatabaseQueue(path: path)
            let indexes = try await db.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations'") }
            #expect(!indexes.contains("reservations_open"))
            try await db.close()
        }
    }
}
