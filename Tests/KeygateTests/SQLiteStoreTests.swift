import Synchronization
import Foundation
import GRDB
import KeygateCore
@testable import KeygateSQLite
import KeygateStore
import Logging
import ServiceLifecycle
import Testing

/// What only the SQLite store has: its migrations of a database file an older Keygate left, its WAL checkpoints.
@Suite struct SQLiteStoreTests {
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

    /// A database made before migration 004 (ledger ids with AUTOINCREMENT, settled reservations kept) keeps
    /// every entry and id, loses only its settled reservations, and numbers new entries after the old ones.
    @Test func migration004KeepsTheLedgerAndDropsSettledReservations() async throws {
        try await withDatabase(
            migratedUpTo: "003_credit_ledger",
            seed: """
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
                """
        ) { store, _ in
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
        try await withDatabase(
            migratedUpTo: "004_lean_ledger_writes",
            seed: """
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
                """
        ) { store, path in
            #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 1, "r2's lease ended")
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero).applied)
            #expect(try await store.balance(organizationID: "org_1").available == Self.credits(9))
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
            let db = try DatabaseQueue(path: path)
            let indexes = try await db.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations'")
            }
            #expect(!indexes.contains("reservations_open"))
            try db.close()
        }
    }

    /// Writes a few hundred rows and waits until the database file (which only a checkpoint writes, in WAL mode)
    /// has grown: true if it did within a few seconds.
    static func aCheckpointMovesNewWrites(_ store: SQLiteStore) async throws -> Bool {
        let size = { ((try? FileManager.default.attributesOfItem(atPath: store.path))?[.size] as? Int) ?? 0 }
        let before = size()
        for i in 0..<300 { _ = try await store.createOrganization(slug: "org-\(i)-\(UUID().uuidString.prefix(8).lowercased())", name: "x") }
        for _ in 0..<300 where size() <= before { try await Task.sleep(for: .milliseconds(10)) }
        return size() > before
    }

    /// A migrated store on a new file in a directory of its own, removed afterwards.
    static func withFreshStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/k.db")
        try await store.migrate()
        try await body(store)
        try await store.close()
    }

    @Test func theWALIsCheckpointedWithoutAServiceGroup() async throws {
        try await Self.withFreshStore { store in
            let moved = try await Self.aCheckpointMovesNewWrites(store)
            #expect(moved)
        }
    }

    /// `serve` runs the store's background services in its service group; they end at its graceful shutdown.
    @Test func theCheckpointerRunsAsAServiceUntilGracefulShutdown() async throws {
        try await Self.withFreshStore { store in
            #expect(store.backgroundServices.count == 1)
            let group = ServiceGroup(services: store.backgroundServices, logger: Logger(label: "test"))
            let running = Task { try await group.run() }
            #expect(try await Self.aCheckpointMovesNewWrites(store))
            await group.triggerGracefulShutdown()
            try await running.value
        }
    }

    /// A store closed while its checkpointer runs in a service group (a test does it under a running server):
    /// the checkpointer never uses the closed connection (that crashed the process once) and does not end the
    /// group early; it returns at the graceful shutdown.
    @Test func closingTheStoreUnderARunningCheckpointerKeepsTheGroupUntilShutdown() async throws {
        try await Self.withFreshStore { store in
            let group = ServiceGroup(services: store.backgroundServices, logger: Logger(label: "test"))
            let finished = Mutex(false)
            let running = Task {
                try await group.run()
                finished.withLock { $0 = true }
            }
            #expect(try await Self.aCheckpointMovesNewWrites(store))
            try await store.close()
            try await Task.sleep(for: .milliseconds(700))  // a few of the checkpointer's ticks
            let endedEarly = finished.withLock { $0 }
            #expect(!endedEarly, "the checkpointer ended the group when the store closed")
            await group.triggerGracefulShutdown()
            try await running.value
            let ended = finished.withLock { $0 }
            #expect(ended)
        }
    }
}
