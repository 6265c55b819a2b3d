import Foundation
import KeygateCore
import KeygatePostgres
import KeygateStore

/// The ledger benchmark on PostgreSQL: reserve+settle pairs/s at 1/16/64 concurrent callers, for one busy
/// organisation (every pair on one balance row) and for 1,000 (pairs spread over their rows). Each settlement
/// carries its usage record, as a request's does. Each run adds its organisations to the database
/// `KEYGATE_BENCH_DATABASE_URL` names (an empty one is best). `batched: false` measures the one-request
/// transactions that batching replaced.
enum PostgresLedgerBench {
    static func run(pairs: Int, batched: Bool) async throws {
        guard let text = ProcessInfo.processInfo.environment["KEYGATE_BENCH_DATABASE_URL"], let url = try? PostgresDatabaseURL(parsing: text) else {
            FileHandle.standardError.write(Data("keygate-ledger-bench postgres needs KEYGATE_BENCH_DATABASE_URL=postgres://…\n".utf8))
            exit(2)
        }
        var pooled = url
        pooled.poolSize = 64
        let store = PostgresStore(url: pooled, batchesLedgerWrites: batched)
        try await store.migrate()
        try await store.heartbeat(instanceID: "bench", at: WallClock.nowMs())
        let run = UUID().uuidString.prefix(8).lowercased()
        for organizations in [1, 1000] {
            var ids: [(org: String, key: String)] = []
            for index in 0..<organizations {
                let org = try await store.createOrganization(slug: "bench-\(run)-\(organizations)-\(index)", name: "bench")
                try await store.addCredits(organizationID: org.id, amount: .credits(1_000_000_000), kind: .grant, reason: nil, trialExpiresAt: nil)
                let key = try await store.createAPIKey(
                    NewAPIKey(
                        organizationID: org.id, name: "bench", lookupID: "\(run)\(organizations)\(index)", hash: Array(repeating: 7, count: 32),
                        preview: "kg_…", isAdmin: false))
                ids.append((org.id, key.id))
            }
            for concurrency in [1, 16, 64, 256] {
                let orgs = ids
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var i = worker
                            while i < pairs {
                                let id = "r\(run)-\(organizations)-\(concurrency)-\(i)"
                                let (org, key) = orgs[i % orgs.count]
                                _ = try await store.reserve(
                                    organizationID: org, requestID: id, amount: MicroCredits(50_000), instanceID: "bench",
                                    leaseExpiresAt: Int64.max / 2)
                                let record = UsageRecord(
                                    requestID: id, organizationID: org, apiKeyID: key, model: "openai/gpt-5.6-luna", provider: "openai", byok: false,
                                    billing: .credits, usage: TokenUsage(inputTokens: 21, outputTokens: 9), costUSD: .zero,
                                    creditsCharged: MicroCredits(12_345), latencyMs: 3, timeToFirstTokenMs: nil, stream: false, status: 200,
                                    errorCode: nil, createdAt: WallClock.nowMs())
                                _ = try await store.settle(requestID: id, cost: MicroCredits(12_345), fee: MicroCredits(679), record: record)
                                i += concurrency
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    String(
                        format: "postgres%@ %4d org%@ concurrency %3d: %6.0f reserve+settle pairs/s (%d pairs in %.2f s)",
                        batched ? "" : " unbatched",
                        organizations,
                        organizations == 1 ? " " : "s", concurrency, Double(pairs) / seconds, pairs, seconds))
            }
        }
        let problems = try await store.verifyLedger(organizationID: nil)
        print("ledger \(problems.isEmpty ? "verified" : "MISMATCH")")
        try await store.close()
    }
}
