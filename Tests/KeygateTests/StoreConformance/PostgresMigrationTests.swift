import Foundation
import KeygateCore
@testable import KeygatePostgres
import KeygateStore
import Testing

/// PostgreSQL's migrations from each earlier version: a database as an older Keygate left it, with a ledger in
/// it, is brought up to date by the current one and keeps every row; its ledger still verifies and takes new
/// requests on the current hot path. Runs when `KEYGATE_TEST_DATABASE_URL` is set.
@Suite(.enabled(if: StoreBackend.postgres != nil)) struct PostgresMigrationTests {
    static let versions = PostgresMigrations.all.map(\.version)

    @Test(arguments: versions.dropLast())
    func aDatabaseAtAnEarlierVersionIsBroughtUpToDateWithNothingLost(version: Int) async throws {
        try await StoreBackend.postgres!.open().use { database in
            let store = try #require(database.store as? PostgresStore)
            try await PostgresMigrations.apply(on: store, upTo: version)
            #expect(try await PostgresTestServer.strings("SELECT max(version)::text FROM keygate_migrations", on: store.url) == ["\(version)"])
            // What an older Keygate wrote (every version has these tables): an organisation, a grant, an open hold.
            let org = try await store.createOrganization(slug: "old", name: "Old")
            try await store.addCredits(organizationID: org.id, amount: .credits(10), kind: .grant, reason: "before", trialExpiresAt: nil)
            _ = try await store.reserveAlone(
                organizationID: org.id, requestID: "old-1", amount: .credits(2), instanceID: "i1", leaseExpiresAt: Int64.max / 2)

            try await store.migrate()
            let applied = try await PostgresTestServer.strings("SELECT version::text FROM keygate_migrations ORDER BY version", on: store.url)
            #expect(applied == Self.versions.map(String.init))
            #expect(try await store.balance(organizationID: org.id).available == .credits(8))
            #expect(try await store.ledgerEntries(organizationID: org.id, limit: 10).map(\.kind) == [.reserve, .grant])
            // The current path on the old rows: the old hold settles, a new request reserves and settles.
            try await store.heartbeat(instanceID: "i1", at: WallClock.nowMs())
            #expect(try await store.settle(requestID: "old-1", cost: .credits(1), fee: .zero).applied)
            #expect(
                try await store.reserve(
                    organizationID: org.id, requestID: "new-1", amount: .credits(3), instanceID: "i1", leaseExpiresAt: Int64.max / 2)
                    == .reserved(trial: .zero, regular: .credits(3)))
            #expect(try await store.settle(requestID: "new-1", cost: .credits(2), fee: .zero).applied)
            #expect(try await store.balance(organizationID: org.id).available == .credits(7))
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
            // Migrating again changes nothing.
            try await store.migrate()
            #expect(
                try await PostgresTestServer.strings("SELECT count(*)::text FROM keygate_migrations", on: store.url) == ["\(Self.versions.count)"])
            try await store.close()
        }
    }

    @Test func aDatabaseAtANewerVersionIsRefusedWithAClearLine() async throws {
        try await StoreBackend.postgres!.open().use { database in
            let store = try #require(database.store as? PostgresStore)
            try await store.migrate()
            try await PostgresTestServer.execute(
                "INSERT INTO keygate_migrations (version, name) VALUES (\(PostgresMigrations.latestVersion + 1), 'from_the_future')", on: store.url)
            let error = await #expect(throws: StoreError.self) { try await store.migrate() }
            #expect(String(describing: error).contains("newer than this Keygate knows"))
            try await store.close()
        }
    }
}
