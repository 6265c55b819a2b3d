import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// What every `Store` backend must do with credits: exact amounts, ledger entry sequences, concurrency. Each
/// test runs once per backend in `StoreBackend.all`, and ends by checking that every balance is still the sum
/// of its entries.
@Suite struct LedgerConformanceTests {
    /// `body` gets the store, an organisation's id and the database (for a second store on it, or its rows).
    func withLedger(_ backend: StoreBackend, _ body: (any Store, String, StoreUnderTest) async throws -> Void) async throws {
        try await backend.open().use { database in
            let store = database.store
            try await store.migrate()
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            try await store.heartbeat(instanceID: "i1", at: WallClock.nowMs())
            try await body(store, org.id, database)
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty, "the balance is always the sum of its entries")
            try await store.close()
        }
    }

    static func credits(_ n: Int64) -> MicroCredits { .credits(n) }
    static let far = Int64.max / 2

    /// The organisation and its trial credits are one transaction: a grant that fails leaves no organisation.
    @Test(arguments: StoreBackend.all)
    func anOrganizationIsCreatedWithItsTrialCreditsOrNotAtAll(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, _, _ in
            let expires = WallClock.nowMs() + 14 * 86_400_000
            let org = try await store.createOrganization(
                slug: "trial-co", name: "Trial", trial: TrialGrant(credits: Self.credits(25), expiresAt: expires))
            let balance = try await store.balance(organizationID: org.id)
            #expect(balance.trial == Self.credits(25) && balance.regular == .zero && balance.trialExpiresAt == expires)
            let entries = try await store.ledgerEntries(organizationID: org.id, limit: 10)
            #expect(entries.map(\.kind) == [.trialGrant] && entries.first?.reason == "trial credits")

            // A grant the ledger refuses (no credits) fails the whole creation: no organisation, no entry.
            await #expect(throws: StoreError.self) {
                try await store.createOrganization(slug: "half-made", name: "Half", trial: TrialGrant(credits: .zero, expiresAt: expires))
            }
            #expect(try await store.organization(slug: "half-made") == nil)
            // A taken slug with a trial grants nothing to anyone.
            await #expect(throws: StoreError.self) {
                try await store.createOrganization(slug: "trial-co", name: "Again", trial: TrialGrant(credits: Self.credits(25), expiresAt: expires))
            }
            #expect(try await store.ledgerEntries(organizationID: org.id, limit: 10).count == 1)
            #expect(try await store.organizations().map(\.slug).sorted() == ["acme", "trial-co"])
        }
    }

    @Test(arguments: StoreBackend.all)
    func reserveSettleReleasesTheExcessAndChargesOnce(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: "test", trialExpiresAt: nil)
            #expect(
                try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(4), instanceID: "i1", leaseExpiresAt: Self.far)
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

    @Test(arguments: StoreBackend.all)
    func aFailedRequestReleasesEverything(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(5), instanceID: "i1", leaseExpiresAt: Self.far)
            #expect(try await store.balance(organizationID: org).available == .zero)
            #expect(try await store.release(requestID: "r1", reason: "upstream failed"))
            #expect(!(try await store.release(requestID: "r1", reason: "again")))
            #expect(try await store.balance(organizationID: org).available == Self.credits(5))
        }
    }

    @Test(arguments: StoreBackend.all)
    func aRequestThatOutlivedItsReservationIsStillCharged(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: 0)
            #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 1)
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero).applied)
            #expect(try await store.balance(organizationID: org).available == Self.credits(4))
            #expect(!(try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)).applied, "and only once")
        }
    }

    @Test(arguments: StoreBackend.all)
    func anInsufficientBalanceReservesNothing(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(1), kind: .grant, reason: nil, trialExpiresAt: nil)
            let outcome = try await store.reserve(
                organizationID: org, requestID: "r1", amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: Self.far)
            guard case .insufficient(let balance) = outcome else { Issue.record("reserved beyond the balance"); return }
            #expect(balance.available == Self.credits(1))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 10).count == 1)
        }
    }

    /// A request id reserves once: a second reservation under it (open or released, whether or not the balance
    /// covers it) is `StoreError.duplicate` on every backend, never a database's own error, and moves nothing.
    @Test(arguments: StoreBackend.all)
    func aSecondReservationForARequestIsADuplicateAndChangesNothing(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, database in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(4), instanceID: "i1", leaseExpiresAt: Self.far)
            _ = try await store.reserve(organizationID: org, requestID: "r2", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: 0)
            #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 1)
            let balance = try await store.balance(organizationID: org)
            let entries = try await store.ledgerEntries(organizationID: org, limit: 100).count
            // Covered, beyond the balance, and on a reservation the sweeper released.
            for (requestID, amount) in [("r1", Self.credits(2)), ("r1", Self.credits(50)), ("r2", Self.credits(1))] {
                await #expect(throws: StoreError.duplicate("reservation for request '\(requestID)'"), "\(requestID) \(amount)") {
                    try await store.reserve(organizationID: org, requestID: requestID, amount: amount, instanceID: "i1", leaseExpiresAt: Self.far)
                }
            }
            #expect(try await store.balance(organizationID: org) == balance)
            #expect(try await store.ledgerEntries(organizationID: org, limit: 100).count == entries)
            #expect(try await database.reservationStates() == ["r1:open", "r2:released"])
            // The first reservation is untouched: it settles as it would have.
            #expect(try await store.settle(requestID: "r1", cost: Self.credits(3), fee: .zero).applied)
            #expect(try await store.balance(organizationID: org).available == Self.credits(7))
        }
    }

    @Test(arguments: StoreBackend.all)
    func anOverageIsChargedFromAvailableNeverDropped(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
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

    @Test(arguments: StoreBackend.all)
    func trialCreditsAreSpentFirstAndExpire(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            let expiry = WallClock.nowMs() + 60_000
            try await store.addCredits(organizationID: org, amount: Self.credits(2), kind: .trialGrant, reason: "trial", trialExpiresAt: expiry)
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .purchase, reason: "pack", trialExpiresAt: nil)
            #expect(
                try await store.reserve(organizationID: org, requestID: "r1", amount: Self.credits(3), instanceID: "i1", leaseExpiresAt: Self.far)
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

    @Test(arguments: StoreBackend.all)
    func abandonedReservationsAreReleasedAfterTheirProcessStops(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            let now = WallClock.nowMs()
            try await store.heartbeat(instanceID: "dead", at: now - 600_000)
            _ = try await store.reserve(organizationID: org, requestID: "alive", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
            _ = try await store.reserve(
                organizationID: org, requestID: "orphan", amount: Self.credits(2), instanceID: "dead", leaseExpiresAt: Self.far)
            _ = try await store.reserve(organizationID: org, requestID: "expired", amount: Self.credits(3), instanceID: "i1", leaseExpiresAt: now - 1)
            #expect(try await store.releaseAbandonedReservations(now: now, deadBefore: now - 90_000) == 2)
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == Self.credits(1) && balance.available == Self.credits(9))
        }
    }

    @Test(arguments: StoreBackend.all)
    func twoHundredConcurrentReservationsFromTwoProcessesNeverOverspend(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, database in
            // A second, independent connection pool on the same file stands in for a second process.
            let other = try await database.openAnother()
            try await store.addCredits(organizationID: org, amount: Self.credits(50), kind: .grant, reason: nil, trialExpiresAt: nil)
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<200 {
                    let target = i % 2 == 0 ? store : other
                    group.addTask {
                        let outcome = try await target.reserve(
                            organizationID: org, requestID: "r\(i)", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
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
    @Test(arguments: StoreBackend.all)
    func aWriteThatFailsInsideABatchLeavesNoTraceAndTheRestCommit(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(100), kind: .grant, reason: nil, trialExpiresAt: nil)
            _ = try await store.reserve(organizationID: org, requestID: "dup", amount: Self.credits(1), instanceID: "i1", leaseExpiresAt: Self.far)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let id = i % 8 == 0 ? "dup" : "r\(i)"
                        return
                            (try? await store.reserve(
                                organizationID: org, requestID: id, amount: Self.credits(1), instanceID: "i1",
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
    @Test(arguments: StoreBackend.all)
    func aSettlementAndItsUsageRecordLandTogetherOrNotAtAll(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            let key = try await store.createAPIKey(
                NewAPIKey(
                    organizationID: org, name: "k", lookupID: "abcdefabcdef", hash: Array(repeating: 1, count: 32),
                    preview: "kg_…", isAdmin: false))
            func record(_ id: String, apiKeyID: String) -> UsageRecord {
                UsageRecord(
                    requestID: id, organizationID: org, apiKeyID: apiKeyID, model: "openai/gpt-5.6-luna", provider: "openai",
                    byok: false, billing: .credits, usage: TokenUsage(inputTokens: 10, outputTokens: 5), costUSD: .zero,
                    creditsCharged: Self.credits(1), latencyMs: 1, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil,
                    createdAt: WallClock.nowMs())
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
    @Test(arguments: StoreBackend.all)
    func aFinishedReservationLeavesOnlyItsLedgerEntriesBehind(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, database in
            try await store.addCredits(organizationID: org, amount: Self.credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            for id in ["r1", "r2", "r3"] {
                _ = try await store.reserve(
                    organizationID: org, requestID: id, amount: Self.credits(2), instanceID: "i1",
                    leaseExpiresAt: id == "r3" ? 0 : Self.far)
            }
            _ = try await store.settle(requestID: "r1", cost: Self.credits(1), fee: .zero)
            _ = try await store.release(requestID: "r2", reason: "failed")
            #expect(try await store.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0) == 1)
            let states = try await database.reservationStates()
            #expect(states == ["r3:released"], "only the sweeper's stays: a late settlement must still find it")
            let entries = try await store.ledgerEntries(organizationID: org, limit: 20)
            #expect(entries.filter { $0.requestID == "r1" }.map(\.kind) == [.release, .settle, .reserve])
            #expect(entries.filter { $0.requestID == "r2" }.map(\.kind) == [.release, .reserve])
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// Trial first, under concurrency from two processes: each reservation's split must come from the very balance
    /// it changed, or the trial and regular sums drift from their balances (which `withLedger` checks at the end).
    @Test(arguments: StoreBackend.all)
    func concurrentReservationsSplitTrialAndRegularExactly(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, database in
            let other = try await database.openAnother()
            try await store.addCredits(
                organizationID: org, amount: Self.credits(7), kind: .trialGrant, reason: nil, trialExpiresAt: Self.far)
            try await store.addCredits(organizationID: org, amount: Self.credits(20), kind: .purchase, reason: nil, trialExpiresAt: nil)
            let amount = MicroCredits(1_500_000)
            let held = try await withThrowingTaskGroup(of: (String, MicroCredits, MicroCredits)?.self) { group in
                for i in 0..<60 {
                    let target = i % 2 == 0 ? store : other
                    group.addTask {
                        let outcome = try await target.reserve(
                            organizationID: org, requestID: "r\(i)", amount: amount, instanceID: "i1", leaseExpiresAt: Self.far)
                        guard case .reserved(let trial, let regular) = outcome else { return nil }
                        return ("r\(i)", trial, regular)
                    }
                }
                return try await group.reduce(into: [(String, MicroCredits, MicroCredits)]()) { if let r = $1 { $0.append(r) } }
            }
            #expect(held.count == 18, "27 credits hold exactly 18 reservations of 1.5")
            #expect(held.reduce(Int64(0)) { $0 + $1.1.value } == Self.credits(7).value, "the trial credits went first, all of them")
            #expect(held.reduce(Int64(0)) { $0 + $1.2.value } == Self.credits(20).value)
            #expect(try await store.balance(organizationID: org) == CreditBalance(trialExpiresAt: Self.far, reserved: Self.credits(27)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, (id, _, _)) in held.enumerated() {
                    let target = index % 2 == 0 ? store : other
                    group.addTask { _ = try await target.settle(requestID: id, cost: Self.credits(1), fee: MicroCredits(100_000)) }
                }
                try await group.waitForAll()
            }
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == .zero && balance.available == MicroCredits(27_000_000 - 18 * 1_100_000))
            try await other.close()
        }
    }

    /// A settlement, its retry from another process and the sweeper racing each other: each request is charged
    /// exactly once, and the reservation is returned at most once.
    @Test(arguments: StoreBackend.all)
    func racingSettlementsAndTheSweeperChargeEachRequestOnce(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, database in
            let other = try await database.openAnother()
            try await store.addCredits(organizationID: org, amount: Self.credits(100), kind: .grant, reason: nil, trialExpiresAt: nil)
            let ids = (0..<20).map { "r\($0)" }
            for id in ids {
                _ = try await store.reserve(organizationID: org, requestID: id, amount: Self.credits(2), instanceID: "i1", leaseExpiresAt: 0)
            }
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for id in ids {
                    for target in [store, other] {
                        group.addTask { try await target.settle(requestID: id, cost: Self.credits(1), fee: .zero).applied ? 1 : 0 }
                    }
                }
                for target in [store, other] {
                    group.addTask {
                        _ = try await target.releaseAbandonedReservations(now: WallClock.nowMs(), deadBefore: 0)
                        return 0
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(applied == 20)
            let entries = try await store.ledgerEntries(organizationID: org, limit: 1000)
            #expect(entries.filter { $0.kind == .settle }.count == 20)
            for id in ids {
                #expect(entries.filter { $0.requestID == id && $0.kind == .release }.count == 1, "\(id) returned once")
            }
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == .zero && balance.available == Self.credits(80))
            try await other.close()
        }
    }

    /// A BYOK fee: trial credits first, the account made if it is the organisation's first change, and the usage
    /// record written with it (a retry's second record is ignored, the fee is not: each call is its own charge).
    @Test(arguments: StoreBackend.all)
    func aFeeIsChargedTrialFirstWithItsRecord(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            let key = try await store.createAPIKey(
                NewAPIKey(
                    organizationID: org, name: "k", lookupID: "fedcbafedcba", hash: Array(repeating: 2, count: 32),
                    preview: "kg_…", isAdmin: false))
            let record = UsageRecord(
                requestID: "b1", organizationID: org, apiKeyID: key.id, model: "openai/gpt-5.6-luna", provider: "openai",
                byok: true, billing: .byok, usage: TokenUsage(inputTokens: 10, outputTokens: 5), costUSD: .zero,
                feeCredits: MicroCredits(300), latencyMs: 1, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil,
                createdAt: WallClock.nowMs())
            try await store.chargeFee(organizationID: org, requestID: "b1", fee: MicroCredits(300), record: record)
            var balance = try await store.balance(organizationID: org)
            #expect(balance.regular == MicroCredits(-300) && balance.trial == .zero)
            try await store.addCredits(organizationID: org, amount: MicroCredits(200), kind: .trialGrant, reason: nil, trialExpiresAt: Self.far)
            try await store.chargeFee(organizationID: org, requestID: "b2", fee: MicroCredits(300), record: nil)
            balance = try await store.balance(organizationID: org)
            #expect(balance.trial == .zero && balance.regular == MicroCredits(-400))
            let fees = try await store.ledgerEntries(organizationID: org, limit: 10).filter { $0.kind == .fee }
            #expect(fees.map(\.requestID) == ["b2", "b1"])
            #expect(fees.first?.trialDelta == MicroCredits(-200) && fees.first?.regularDelta == MicroCredits(-100))
            #expect(fees.first?.availableAfter == MicroCredits(-400) && fees.first?.reservedAfter == .zero)
            #expect(try await store.usageRecords(organizationID: org, limit: 10).map(\.requestID) == ["b1"])
        }
    }

    @Test(arguments: StoreBackend.all)
    func onlyGrantsPurchasesAdjustmentsTrialsAndRefundsAreAddedByHand(backend: StoreBackend) async throws {
        try await withLedger(backend) { store, org, _ in
            for kind in [LedgerEntryKind.reserve, .settle, .release, .fee, .expiry, .dispute] {
                await #expect(throws: StoreError.self) {
                    try await store.addCredits(organizationID: org, amount: .credits(1), kind: kind, reason: nil, trialExpiresAt: nil)
                }
            }
            await #expect(throws: StoreError.self) {
                try await store.addCredits(organizationID: org, amount: .credits(-1), kind: .grant, reason: nil, trialExpiresAt: nil)
            }
            await #expect(throws: StoreError.self) {
                try await store.addCredits(organizationID: org, amount: .zero, kind: .adjustment, reason: nil, trialExpiresAt: nil)
            }
            #expect(try await store.ledgerEntries(organizationID: org, limit: 10).isEmpty, "a refusal writes nothing")
            try await store.addCredits(organizationID: org, amount: .credits(5), kind: .grant, reason: nil, trialExpiresAt: nil)
            let after = try await store.addCredits(organizationID: org, amount: .credits(-2), kind: .adjustment, reason: "fix", trialExpiresAt: nil)
            #expect(after.available == .credits(3))
        }
    }
}
