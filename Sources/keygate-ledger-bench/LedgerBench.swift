import Foundation
import KeygateCore
import KeygateServer
import KeygateSQLite
import KeygateStore

/// Reserve+settle pairs per second on a fresh SQLite ledger, at several concurrencies, for both durability
/// settings (`KEYGATE_SQLITE_SYNC`). Each pair is durable (committed to the WAL) before the next step starts.
/// With `postgres`, the same on the PostgreSQL database `KEYGATE_BENCH_DATABASE_URL` names (synchronous commit
/// as the server has it), for one organisation and for 1,000.
/// Usage: keygate-ledger-bench [pairs per run, default 20000] [normal|full|both|postgres|postgres-unbatched, default both]
@main
struct LedgerBench {
    static func main() async throws {
        MemoryAllocator.keepFreedMemory()  // as `keygate serve` runs the store
        let pairs = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20_000
        if let mode = CommandLine.arguments.dropFirst(2).first, mode.hasPrefix("postgres") {
            try await PostgresLedgerBench.run(pairs: pairs, batched: mode != "postgres-unbatched")
            return
        }
        let modes: [SQLiteStore.Durability] =
            switch CommandLine.arguments.dropFirst(2).first {
            case "normal": [.normal]
            case "full": [.full]
            default: [.normal, .full]
            }
        for durability in modes {
            for concurrency in [1, 16, 64] {
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-ledger-bench-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let store = try SQLiteStore(path: dir + "/bench.db", durability: durability)
                try await store.migrate()
                let org = try await store.createOrganization(slug: "bench", name: "bench")
                try await store.heartbeat(instanceID: "bench", at: WallClock.nowMs())
                try await store.addCredits(organizationID: org.id, amount: .credits(1_000_000_000), kind: .grant, reason: nil, trialExpiresAt: nil)
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var i = worker
                            while i < pairs {
                                let id = "r\(i)"
                                _ = try await store.reserve(
                                    organizationID: org.id, requestID: id, amount: MicroCredits(50_000),
                                    instanceID: "bench", leaseExpiresAt: Int64.max / 2)
                                _ = try await store.settle(requestID: id, cost: MicroCredits(12_345), fee: MicroCredits(679))
                                i += concurrency
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let seconds =
                    Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
                let problems = try await store.verifyLedger(organizationID: nil)
                print(
                    String(
                        format: "sync=%@ concurrency %2d: %6.0f reserve+settle pairs/s (%d pairs in %.2f s), ledger %@", durability.rawValue,
                        concurrency,
                        Double(pairs) / seconds, pairs, seconds, problems.isEmpty ? "verified" : "MISMATCH"))
                try await store.close()
            }
        }
    }
}
