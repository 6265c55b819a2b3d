import Foundation
import KeygateCore
import KeygatePostgres
import KeygateStore

/// The ledger benchmark on PostgreSQL: reserve+settle pairs/s at 1/16/64 concurrent callers, for one busy
/// organisation (every pair on one balance row) and for 1,000 (pairs spread over their rows). Each run adds
/// its organisations to the database `KEYGATE_BENCH_DATABASE_URL` names (an empty one is best).
enum PostgresLedgerBench {
    static func run(pairs: Int) async throws {
        guard let text = ProcessInfo.processInfo.environment["KEYGATE_BENCH_DATABASE_URL"], let url = try? PostgresDatabaseURL(parsing: text) else {
            FileHandle.standardError.write(Data("keygate-ledger-bench postgres needs KEYGATE_BENCH_DATABASE_URL=postgres://…\n".utf8))
            exit(2)
        }
        var pooled = url
        pooled.poolSize = 64
        let store = PostgresStore(url: pooled)
        try await store.migrate()
        try await store.heartbeat(instanceID: "bench", at: WallClock.nowMs())
        let run = UUID().uuidString.prefix(8).lowercased()
        for organizations in [1, 1000] {
            var ids: [String] = []
            for index in 0..<organizations {
                let org = try await store.createOrganization(slug: "bench-\(run)-\(organizations)-\(index)", name: "bench")
                try await store.addCredits(organizationID: org.id, amount: .credits(1_000_000_000), kind: .grant, reason: nil, trialExpiresAt: nil)
                ids.append(org.id)
            }
            for concurrency in [1, 16, 64] {
                let orgs = ids
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var i = worker
                            while i < pairs {
                                let id = "r\(run)-\(organizations)-\(concurrency)-\(i)"
                                _ = try await store.reserve(
                                    organizationID: orgs[i % orgs.count], requestID: id, amount: MicroCredits(50_000), instanceID: "bench",
                                    leaseExpiresAt: Int64.max / 2)
                                _ = try await store.settle(requestID: id, cost: MicroCredits(12_345), fee: MicroCredits(679))
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
                        format: "postgres %4d org%@ concurrency %2d: %6.0f reserve+settle pairs/s (%d pairs in %.2f s)", organizations,
                        organizations == 1 ? " " : "s", concurrency, Double(pairs) / seconds, pairs, seconds))
            }
        }
        let problems = try await store.verifyLedger(organizationID: nil)
        print("ledger \(problems.isEmpty ? "verified" : "MISMATCH")")
        try await store.close()
    }
}
