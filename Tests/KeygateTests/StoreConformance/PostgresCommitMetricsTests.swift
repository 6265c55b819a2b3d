import Foundation
import KeygateCore
import KeygatePostgres
import KeygateServer
import KeygateStore
import Testing

/// The PostgreSQL batcher reports each batch's commit into the registry it is given (the gateway's `/metrics`).
@Suite(.enabled(if: StoreBackend.postgres != nil)) struct PostgresCommitMetricsTests {
    @Test func theBatchedLedgerReportsItsCommits() async throws {
        let server = try PostgresDatabaseURL(parsing: ProcessInfo.processInfo.environment["KEYGATE_TEST_DATABASE_URL"] ?? "")
        let name = "kg_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await PostgresTestServer.execute("CREATE DATABASE \(name)", on: server)
        var url = server
        url.database = String(name)
        url.poolSize = 2
        let metrics = GatewayMetrics()
        let store = PostgresStore(url: url, metrics: metrics.factory)
        do {
            try await store.migrate()
            try await store.heartbeat(instanceID: "i1", at: WallClock.nowMs())
            let org = try await store.createOrganization(slug: "acme", name: "Acme").id
            try await store.addCredits(organizationID: org, amount: .credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: .credits(1), instanceID: "i1", leaseExpiresAt: Int64.max / 2)
            _ = try await store.settle(requestID: "r1", cost: MicroCredits(1000), fee: .zero)
            let m = MetricsScrape(String(decoding: metrics.exposition(), as: UTF8.self))
            #expect(m.value("keygate_ledger_commit_group_size_count", ["backend": "postgres"]) == 2, "one batch each: the reserve, the settle")
            #expect(m.value("keygate_ledger_commit_group_size_sum", ["backend": "postgres"]) == 2)
            #expect(m.value("keygate_ledger_commit_seconds_count", ["backend": "postgres"]) == 2)
        } catch {
            Issue.record(error)
        }
        try? await store.close()
        try? await PostgresTestServer.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: server)
    }
}
