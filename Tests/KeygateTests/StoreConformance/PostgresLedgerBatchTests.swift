import Foundation
import KeygateCore
@testable import KeygatePostgres
import KeygateStore
import Testing

/// The PostgreSQL ledger's batches (`keygate_reserve_batch`, `keygate_settle_batch`) against its one-request
/// transactions: the same steps, once in one batch for one set of organisations and once one at a time for an
/// identical set, must give the same answers, balances and ledger entries. Runs when `KEYGATE_TEST_DATABASE_URL`
/// is set (as the conformance suite's PostgreSQL half does).
@Suite(.enabled(if: StoreBackend.postgres != nil)) struct PostgresLedgerBatchTests {
    static func credits(_ n: Int64) -> MicroCredits { .credits(n) }
    static let far = Int64.max / 2

    func withPostgres(_ body: (PostgresStore) async throws -> Void) async throws {
        try await StoreBackend.postgres!.open().use { database in
            let store = try #require(database.store as? PostgresStore)
            try await store.migrate()
            try await store.heartbeat(instanceID: "i1", at: WallClock.nowMs())
            try await body(store)
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty, "the balance is always the sum of its entries")
            try await store.close()
        }
    }

    /// A ledger entry without what differs between the two sides (ids, times, the side's request id prefix).
    struct Entry: Equatable {
        var kind: LedgerEntryKind
        var regular, trial, reserved, availableAfter, reservedAfter: Int64
        var requestID: String?
        var reason: String?

        init(_ entry: LedgerEntry) {
            kind = entry.kind
            regular = entry.regularDelta.value
            trial = entry.trialDelta.value
            reserved = entry.reservedDelta.value
            availableAfter = entry.availableAfter.value
            reservedAfter = entry.reservedAfter.value
            requestID = entry.requestID.map { String($0.dropFirst(2)) }
            reason = entry.reason
        }
    }

    static func reservations(_ answers: [Result<PostgresStore.LedgerAnswer, any Error>]) -> [Result<ReservationOutcome, any Error>] {
        answers.map { answer in
            answer.flatMap { if case .reservation(let outcome) = $0 { .success(outcome) } else { .failure(StoreError.invalid("a settlement")) } }
        }
    }

    static func settlements(_ answers: [Result<PostgresStore.LedgerAnswer, any Error>]) -> [Result<Settlement, any Error>] {
        answers.map { answer in
            answer.flatMap { if case .settlement(let settled) = $0 { .success(settled) } else { .failure(StoreError.invalid("a reservation")) } }
        }
    }

    /// Both sides' answers agree: equal values, or both a duplicate.
    func agree<T: Equatable>(_ batched: Result<T, any Error>, _ alone: Result<T, any Error>) -> Bool {
        switch (batched, alone) {
        case (.success(let a), .success(let b)): return a == b
        case (.failure(let a), .failure(let b)):
            if case StoreError.duplicate = a, case StoreError.duplicate = b { return true }
            return false
        default: return false
        }
    }

    @Test func aBatchAnswersEachRequestAsIfItRanAlone() async throws {
        try await withPostgres { store in
            // Side "a" goes through the batch functions, side "b" through the one-request transactions. Organisation 0
            // has 3 trial credits and 7 regular ones; organisation 1 has nothing (no account at all).
            var orgs: [String: String] = [:]
            for side in ["a", "b"] {
                for n in 0..<2 { orgs["\(side)\(n)"] = try await store.createOrganization(slug: "\(side)\(n)", name: "\(side)\(n)").id }
                let org = orgs["\(side)0"]!
                try await store.addCredits(organizationID: org, amount: Self.credits(3), kind: .trialGrant, reason: nil, trialExpiresAt: Self.far)
                try await store.addCredits(organizationID: org, amount: Self.credits(7), kind: .grant, reason: nil, trialExpiresAt: nil)
                // Held before the batch: r0 (named again in it, a duplicate) and r7 (whose lease the sweeper ends).
                _ = try await store.reserveAlone(
                    organizationID: org, requestID: "\(side)-r0", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
                _ = try await store.reserveAlone(
                    organizationID: org, requestID: "\(side)-r7", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: 1)
            }
            let now = WallClock.nowMs()
            #expect(try await store.releaseAbandonedReservations(now: now, deadBefore: now - 60_000) == 2)
            // 9 credits left on organisation 0 (2 trial, 7 regular): r7's credit came back.
            let steps: [(org: Int, request: String, amount: Int64)] = [
                (0, "r1", 4), (1, "r2", 1), (0, "r3", 6), (0, "r0", 1), (0, "r4", 4), (1, "r5", 0), (0, "r6", 1), (0, "r8", 0),
            ]
            func pending(_ side: String) -> [PostgresStore.PendingReservation] {
                steps.map {
                    PostgresStore.PendingReservation(
                        organizationID: orgs["\(side)\($0.org)"]!, requestID: "\(side)-\($0.request)", amount: Self.credits($0.amount).value,
                        instanceID: "i1", leaseExpiresAt: Self.far)
                }
            }
            let batched = Self.reservations(await store.writeBatch(pending("a").map { .reserve($0) }))
            var alone: [Result<ReservationOutcome, any Error>] = []
            for step in pending("b") {
                do {
                    alone.append(
                        .success(
                            try await store.reserveAlone(
                                organizationID: step.organizationID, requestID: step.requestID, amount: MicroCredits(step.amount),
                                instanceID: step.instanceID, leaseExpiresAt: step.leaseExpiresAt)))
                } catch { alone.append(.failure(error)) }
            }
            #expect(batched.count == steps.count)
            for (index, (a, b)) in zip(batched, alone).enumerated() { #expect(agree(a, b), "step \(index): \(a) vs \(b)") }
            // What the steps must have given, worked out by hand: r1 takes the 2 trial credits and 2 regular ones,
            // r3 does not fit in the 5 left, r0 is a duplicate, r4 takes 4, r6 the last one, r8 (0) fits.
            #expect((try? batched[0].get()) == .reserved(trial: Self.credits(2), regular: Self.credits(2)))
            #expect((try? batched[2].get()).map { if case .insufficient(let b) = $0 { b.available == Self.credits(5) } else { false } } == true)
            #expect(throws: StoreError.self) { try batched[3].get() }
            #expect((try? batched[4].get()) == .reserved(trial: .zero, regular: Self.credits(4)))
            #expect((try? batched[6].get()) == .reserved(trial: .zero, regular: Self.credits(1)))
            #expect((try? batched[7].get()) == .reserved(trial: .zero, regular: .zero))
            #expect((try? batched[1].get()) == .insufficient(CreditBalance()))

            // Settlements: under the hold with a fee (the rest released), beyond the hold (overage, available goes
            // below zero), nothing used, a reservation the sweeper released (charged from available), one with no
            // reservation (a retry: not applied), and one named twice (the second is a retry).
            let settlements: [(request: String, cost: Int64, fee: Int64)] = [
                ("r1", 1_500_000, 100_000), ("r4", 5_000_000, 0), ("r0", 0, 0), ("r7", 1_000_000, 50_000), ("r9", 1_000_000, 0),
                ("r8", 0, 0), ("r1", 1_000_000, 0),
            ]
            func pendingSettlements(_ side: String) -> [PostgresStore.PendingSettlement] {
                settlements.map {
                    PostgresStore.PendingSettlement(
                        requestID: "\(side)-\($0.request)", cost: MicroCredits($0.cost), fee: MicroCredits($0.fee), record: nil)
                }
            }
            let settledInBatch = Self.settlements(await store.writeBatch(pendingSettlements("a").map { .settle($0) }))
            var settledAlone: [Result<Settlement, any Error>] = []
            for step in pendingSettlements("b") {
                do {
                    settledAlone.append(.success(try await store.settleAlone(requestID: step.requestID, cost: step.cost, fee: step.fee, record: nil)))
                } catch { settledAlone.append(.failure(error)) }
            }
            for (index, (a, b)) in zip(settledInBatch, settledAlone).enumerated() { #expect(agree(a, b), "settlement \(index): \(a) vs \(b)") }
            #expect(settledInBatch.map { (try? $0.get())?.applied } == [true, true, true, true, false, true, false])

            for n in 0..<2 {
                let a = orgs["a\(n)"]!
                let b = orgs["b\(n)"]!
                #expect(try await store.balance(organizationID: a) == store.balance(organizationID: b))
                let entriesA = try await store.ledgerEntries(organizationID: a, limit: 100).map(Entry.init)
                let entriesB = try await store.ledgerEntries(organizationID: b, limit: 100).map(Entry.init)
                #expect(entriesA == entriesB)
            }
            // Organisation 0: 10 - 1.5 - 0.1 - 5 - 1 - 0.05 = 2.35 credits, of which r6 still holds 1.
            let balance = try await store.balance(organizationID: orgs["a0"]!)
            #expect(balance.available == MicroCredits(1_350_000) && balance.reserved == Self.credits(1))
        }
    }

    @Test func aBatchSettlesFirstThenReservesWithWhatTheSettlementsFreed() async throws {
        try await withPostgres { store in
            var orgs: [String] = []
            for side in ["a", "b"] {
                let org = try await store.createOrganization(slug: "org-\(side)", name: side).id
                try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
                _ = try await store.reserveAlone(
                    organizationID: org, requestID: "\(side)-r1", amount: Self.credits(4), instanceID: "i1", leaseExpiresAt: Self.far)
                orgs.append(org)
            }
            // r2 needs 3 credits; only 1 is free until r1 settles for 1 and returns the other 3. One batch holds both.
            func r2(_ side: Int) -> PostgresStore.PendingReservation {
                PostgresStore.PendingReservation(
                    organizationID: orgs[side], requestID: "\(["a", "b"][side])-r2", amount: Self.credits(3).value, instanceID: "i1",
                    leaseExpiresAt: Self.far)
            }
            let settleA = PostgresStore.PendingSettlement(requestID: "a-r1", cost: Self.credits(1), fee: .zero, record: nil)
            let answers = await store.writeBatch([.reserve(r2(0)), .settle(settleA)])
            #expect((try? Self.reservations([answers[0]])[0].get()) == .reserved(trial: .zero, regular: Self.credits(3)))
            #expect((try? Self.settlements([answers[1]])[0].get())?.applied == true)
            // The same two alone, in the order the batch applies them.
            #expect(try await store.settleAlone(requestID: "b-r1", cost: Self.credits(1), fee: .zero, record: nil).applied)
            let alone = r2(1)
            #expect(
                try await store.reserveAlone(
                    organizationID: alone.organizationID, requestID: alone.requestID, amount: MicroCredits(alone.amount), instanceID: "i1",
                    leaseExpiresAt: Self.far) == .reserved(trial: .zero, regular: Self.credits(3)))
            #expect(try await store.balance(organizationID: orgs[0]) == store.balance(organizationID: orgs[1]))
            let entriesA = try await store.ledgerEntries(organizationID: orgs[0], limit: 20).map(Entry.init)
            let entriesB = try await store.ledgerEntries(organizationID: orgs[1], limit: 20).map(Entry.init)
            #expect(entriesA == entriesB)
        }
    }

    @Test func aBatchOfFeesChargesEachAsIfItRanAlone() async throws {
        try await withPostgres { store in
            // Organisation 0 has 1 trial credit and 5 regular ones; organisation 1 has no account (its first fee makes it).
            var orgs: [String: String] = [:]
            var keys: [String: String] = [:]
            for side in ["a", "b"] {
                for n in 0..<2 {
                    let org = try await store.createOrganization(slug: "fees-\(side)\(n)", name: "\(side)\(n)").id
                    orgs["\(side)\(n)"] = org
                    keys["\(side)\(n)"] = try await store.createAPIKey(
                        NewAPIKey(
                            organizationID: org, name: "k", lookupID: "fee\(side)\(n)lookup", hash: Array(repeating: 3, count: 32),
                            preview: "kg_…", isAdmin: false)
                    ).id
                }
                try await store.addCredits(
                    organizationID: orgs["\(side)0"]!, amount: Self.credits(1), kind: .trialGrant, reason: nil, trialExpiresAt: Self.far)
                try await store.addCredits(organizationID: orgs["\(side)0"]!, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            }
            let steps: [(org: Int, request: String, fee: Int64)] = [
                (0, "f1", 500_000), (1, "f2", 300_000), (0, "f3", 800_000), (0, "f4", 10_000_000),
            ]
            func pending(_ side: String) -> [PostgresStore.PendingFee] {
                steps.map { step in
                    let org = orgs["\(side)\(step.org)"]!
                    let record = UsageRecord(
                        requestID: "\(side)-\(step.request)", organizationID: org, apiKeyID: keys["\(side)\(step.org)"]!,
                        model: "openai/gpt-5.6-luna", provider: "openai", byok: true, billing: .byok,
                        usage: TokenUsage(inputTokens: 10, outputTokens: 5), costUSD: .zero, feeCredits: MicroCredits(step.fee), latencyMs: 1,
                        timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil, createdAt: WallClock.nowMs())
                    return PostgresStore.PendingFee(
                        organizationID: org, requestID: "\(side)-\(step.request)", fee: MicroCredits(step.fee), record: record)
                }
            }
            let answers = await store.writeBatch(pending("a").map { .fee($0) })
            for answer in answers { #expect((try? answer.get()).map { if case .feeCharged = $0 { true } else { false } } == true) }
            for fee in pending("b") {
                try await store.chargeFeeAlone(organizationID: fee.organizationID, requestID: fee.requestID, fee: fee.fee, record: fee.record)
            }
            for n in 0..<2 {
                let a = orgs["a\(n)"]!
                let b = orgs["b\(n)"]!
                #expect(try await store.balance(organizationID: a) == store.balance(organizationID: b))
                let entriesA = try await store.ledgerEntries(organizationID: a, limit: 100).map(Entry.init)
                let entriesB = try await store.ledgerEntries(organizationID: b, limit: 100).map(Entry.init)
                #expect(entriesA == entriesB)
                #expect(try await store.usageRecords(organizationID: a, limit: 10).count == steps.filter { $0.org == n }.count)
            }
            // Organisation 0: 6 - 0.5 - 0.8 - 10 = -5.3 credits, the trial credit used first; organisation 1: -0.3.
            let balance = try await store.balance(organizationID: orgs["a0"]!)
            #expect(balance.trial == .zero && balance.regular == MicroCredits(-5_300_000))
            #expect(try await store.balance(organizationID: orgs["a1"]!).regular == MicroCredits(-300_000))
        }
    }

    @Test func aBatchTheDatabaseRefusesRunsEachRequestAlone() async throws {
        try await withPostgres { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme").id
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            // The batcher never puts one request in a batch twice; here it is done by hand, so the reservations'
            // unique key refuses the whole statement and each request runs alone: the first holds, the second is a duplicate.
            let twice = PostgresStore.PendingReservation(
                organizationID: org, requestID: "x1", amount: Self.credits(2).value, instanceID: "i1", leaseExpiresAt: Self.far)
            let other = PostgresStore.PendingReservation(
                organizationID: org, requestID: "x2", amount: Self.credits(2).value, instanceID: "i1", leaseExpiresAt: Self.far)
            var again = twice
            again.amount = Self.credits(1).value
            let answers = Self.reservations(await store.writeBatch([.reserve(twice), .reserve(other), .reserve(again)]))
            #expect((try? answers[0].get()) == .reserved(trial: .zero, regular: Self.credits(2)))
            #expect((try? answers[1].get()) == .reserved(trial: .zero, regular: Self.credits(2)))
            #expect(throws: StoreError.self) { try answers[2].get() }
            #expect(try await store.balance(organizationID: org).available == Self.credits(1))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 10).filter { $0.kind == .reserve }.count == 2)
        }
    }

    /// The one-request path (no batching, or a refused batch's fallback) answers a duplicate reservation as the
    /// batch does: `StoreError.duplicate` whether or not the balance covers it, nothing moved.
    @Test func aDuplicateReservationAloneIsTheBatchsDuplicate() async throws {
        try await withPostgres { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme").id
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserveAlone(
                organizationID: org, requestID: "x1", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: Self.far)
            for amount in [Self.credits(1), Self.credits(50)] {
                await #expect(throws: StoreError.duplicate("reservation for request 'x1'"), "\(amount)") {
                    try await store.reserveAlone(organizationID: org, requestID: "x1", amount: amount, instanceID: "i1", leaseExpiresAt: Self.far)
                }
                await #expect(throws: StoreError.duplicate("reservation for request 'x1'"), "\(amount), batched") {
                    try await store.reserve(organizationID: org, requestID: "x1", amount: amount, instanceID: "i1", leaseExpiresAt: Self.far)
                }
            }
            #expect(try await store.balance(organizationID: org).available == Self.credits(3))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 10).filter { $0.kind == .reserve }.count == 1)
        }
    }

    @Test func concurrentRequestsFromTwoProcessesNeverOverspendAndAreBatched() async throws {
        try await withPostgres { store in
            let org = try await store.createOrganization(slug: "busy", name: "Busy").id
            try await store.addCredits(organizationID: org, amount: Self.credits(50), kind: .grant, reason: nil, trialExpiresAt: nil)
            let other = PostgresStore(url: store.url)
            // 200 requests of 1 credit from two stores (two replicas) at once, on a balance that covers 50.
            let outcomes = try await withThrowingTaskGroup(of: (String, ReservationOutcome).self) { group in
                for n in 0..<200 {
                    let replica: PostgresStore = n % 2 == 0 ? store : other
                    group.addTask {
                        (
                            "c\(n)",
                            try await replica.reserve(
                                organizationID: org, requestID: "c\(n)", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
                        )
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let granted = outcomes.filter { if case .reserved = $0.value { true } else { false } }.map(\.key)
            #expect(granted.count == 50)
            for case .insufficient(let balance) in outcomes.values { #expect(balance.available < Self.credits(1)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, id) in granted.enumerated() {
                    let replica: PostgresStore = n % 2 == 0 ? store : other
                    group.addTask {
                        let settled = try await replica.settle(requestID: id, cost: MicroCredits(500_000), fee: .zero)
                        #expect(settled.applied)
                    }
                }
                try await group.waitForAll()
            }
            let balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(25) && balance.reserved == .zero)
            // Fewer statements than requests: requests that waited at the same moment shared one.
            let batches = store.ledgerWrites.batchesWritten + other.ledgerWrites.batchesWritten
            #expect(batches < 200, "\(batches) batches for 200 reservations")
            try await other.close()
        }
    }

    @Test func oneReplicaSweepsAtATime() async throws {
        try await withPostgres { store in
            let org = try await store.createOrganization(slug: "acme", name: "Acme").id
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "gone", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: 1)
            let other = PostgresStore(url: store.url)
            // While another replica's sweep holds the lock, this one skips its sweep and leaves the rows alone.
            try await other.transaction { connection in
                _ = try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresStore.sweeperLockKey))", logger: other.logger).collect()
                #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 0)
            }
            #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 1)
            #expect(try await store.balance(organizationID: org).available == Self.credits(5))
            try await other.close()
        }
    }
}
