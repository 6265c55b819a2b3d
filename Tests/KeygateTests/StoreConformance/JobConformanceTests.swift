import Foundation
import KeygateCore
@testable import KeygateServer
import KeygateStore
import Testing

/// What every `Store` backend must do with jobs (SPEC §5): one hold for many calls, never below zero under
/// concurrency, closed by completion, failure (both policies) or expiry, dead calls' holds back to their job;
/// each test ends with `verifyLedger` (the balance is the sum of its entries, `reserved` is the open
/// reservations plus the open jobs' holds).
@Suite struct JobConformanceTests {
    static func credits(_ n: Int64) -> MicroCredits { .credits(n) }
    static let far = Int64.max / 2

    func withJobs(
        _ backend: StoreBackend, startingCredits: Int64 = 1000, _ body: (any Store, String, StoreUnderTest) async throws -> Void
    )
        async throws
    {
        try await backend.open().use { database in
            let store = database.store
            try await store.migrate()
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            let (key, _) = try await AdminService(store: store).createAPIKey(organizationSlug: "acme", name: "ci", isAdmin: false)
            _ = key
            try await store.heartbeat(instanceID: "i1", at: WallClock.nowMs())
            try await store.addCredits(
                organizationID: org.id, amount: Self.credits(startingCredits), kind: .grant, reason: "test", trialExpiresAt: nil)
            try await body(store, org.id, database)
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty, "the balance is always the sum of its entries")
            try await store.close()
        }
    }

    func open(
        _ store: any Store, _ org: String, _ credits: Int64, id: String = "job_1", tier: String? = nil, expiresAt: Int64 = far
    )
        async throws -> Job
    {
        let outcome = try await store.openJob(
            JobOpening(id: id, organizationID: org, amount: Self.credits(credits), tier: tier, metadata: ["pr": "42"], expiresAt: expiresAt))
        guard case .opened(let job) = outcome else { throw StoreError.invalid("not opened: \(outcome)") }
        return job
    }

    func reserve(
        _ store: any Store, _ org: String, _ request: String, _ amount: MicroCredits, job: String = "job_1", instance: String = "i1",
        lease: Int64 = far
    ) async throws -> JobCallOutcome {
        try await store.reserveJobCall(
            jobID: job, organizationID: org, requestID: request, amount: amount, instanceID: instance, leaseExpiresAt: lease)
    }

    /// A usage record of the organisation's API key (records reference one).
    func record(
        _ request: String, org: String, job: String?, cost: Int64 = 0, credits: MicroCredits = .zero, store: any Store
    ) async throws
        -> UsageRecord
    {
        let apiKeyID = try #require(try await store.apiKeys(organizationID: org).first?.id)
        return
            UsageRecord(
                requestID: request, organizationID: org, apiKeyID: apiKeyID, model: "openai/gpt-5.6-luna", provider: "openai", byok: false,
                billing: .credits, usage: TokenUsage(inputTokens: 10, outputTokens: 20, cachedInputTokens: 0, reasoningTokens: 0, estimated: false),
                costUSD: PicoUSD(cost), creditsCharged: credits, latencyMs: 5, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil,
                createdAt: WallClock.nowMs(), jobID: job)
    }

    @Test(arguments: StoreBackend.all)
    func openingHoldsTheAmountAndRefusesWhatDoesNotFit(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            let job = try await open(store, org, 60)
            #expect(job.status == .open && job.amount == Self.credits(60) && job.remaining == Self.credits(60) && job.charged == .zero)
            #expect(job.metadata == ["pr": "42"])
            var balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(40) && balance.reserved == Self.credits(60))
            let second = try await store.openJob(
                JobOpening(id: "job_2", organizationID: org, amount: Self.credits(41), tier: nil, metadata: [:], expiresAt: Self.far))
            #expect(second == .insufficient(balance))
            balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(40), "a refused job holds nothing")
            #expect(try await store.job(id: "job_2", organizationID: org) == nil)
            #expect(try await store.ledgerEntries(organizationID: org, limit: 5).map(\.kind) == [.reserve, .grant])
        }
    }

    /// The issue's test: a 100-credit job, 30 calls at once whose estimates (7 credits each) exceed it: exactly
    /// 14 fit, the job never goes below zero, and the organisation's available never moves.
    @Test(arguments: StoreBackend.all)
    func thirtyConcurrentCallsNeverTakeTheJobBelowZero(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 500) { store, org, database in
            _ = try await open(store, org, 100)
            let other = try await database.openAnother()
            let outcomes = try await withThrowingTaskGroup(of: (Int, JobCallOutcome).self) { group in
                for index in 0..<30 {
                    // Half through a second store on the same database: a second process.
                    let target: any Store = index.isMultiple(of: 2) ? store : other
                    group.addTask { (index, try await reserve(target, org, "r\(index)", Self.credits(7))) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            try await other.close()
            let reserved = outcomes.values.filter { if case .reserved = $0 { true } else { false } }.count
            let exhausted = outcomes.values.filter { if case .exhausted = $0 { true } else { false } }.count
            #expect(reserved == 14 && exhausted == 16)
            var job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.remaining == Self.credits(2) && job.inFlight == Self.credits(98))
            var balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(400) && balance.reserved == Self.credits(100), "calls never touch available")
            #expect(try await store.verifyLedger(organizationID: org).isEmpty)
            // Each settles for 3 credits: 4 of each hold go back to the job.
            for (index, outcome) in outcomes {
                guard case .reserved = outcome else { continue }
                #expect(try await store.settleJobCall(requestID: "r\(index)", cost: Self.credits(3), fee: .zero, record: nil).applied)
            }
            job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.charged == Self.credits(42) && job.remaining == Self.credits(58) && job.inFlight == .zero)
            balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(400) && balance.reserved == Self.credits(58))
            _ = try await store.completeJob(jobID: "job_1", organizationID: org, now: WallClock.nowMs())
            balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(458) && balance.reserved == .zero)
        }
    }

    /// Calls reserving and settling, the sweeper, a plain request and the job's completion, all at once from
    /// two stores: nothing deadlocks or fails, every call settles exactly once, and the ledger holds.
    @Test(arguments: StoreBackend.all)
    func callsSweepsAndClosingAtOnceNeverDeadlockOrLoseACredit(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 500) { store, org, database in
            _ = try await open(store, org, 100)
            let other = try await database.openAnother()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    let target: any Store = index.isMultiple(of: 2) ? store : other
                    group.addTask {
                        let outcome = try await reserve(target, org, "r\(index)", Self.credits(2), instance: index % 4 == 0 ? "dead" : "i1")
                        guard case .reserved = outcome else { return }
                        _ = try await target.settleJobCall(requestID: "r\(index)", cost: Self.credits(1), fee: MicroCredits(1), record: nil)
                    }
                }
                group.addTask {
                    for _ in 0..<5 { _ = try await other.releaseAbandonedJobCalls(now: WallClock.nowMs(), deadBefore: WallClock.nowMs() - 60_000) }
                }
                group.addTask {
                    _ = try await store.reserve(
                        organizationID: org, requestID: "plain", amount: Self.credits(3), instanceID: "i1", leaseExpiresAt: Self.far)
                    _ = try await store.settle(requestID: "plain", cost: Self.credits(1), fee: .zero)
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(5))
                    _ = try await other.completeJob(jobID: "job_1", organizationID: org, now: WallClock.nowMs())
                }
                try await group.waitForAll()
            }
            try await other.close()
            let job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.status == .completed && job.inFlight == .zero && job.remaining == .zero)
            let settled = try await store.ledgerEntries(organizationID: org, limit: 1000).filter { $0.kind == .settle && $0.requestID != "plain" }
            #expect(job.charged == MicroCredits(Int64(settled.count) * 1_000_001), "each settled call charged once, into the job")
            let balance = try await store.balance(organizationID: org)
            #expect(balance.reserved == .zero && balance.available == MicroCredits(500_000_000 - 1_000_000 - job.charged.value))
        }
    }

    @Test(arguments: StoreBackend.all)
    func completingKeepsWhatTheCallsCostAndReturnsTheRest(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            _ = try await open(store, org, 50)
            #expect(try await reserve(store, org, "r1", Self.credits(10)) == .reserved(trial: .zero, regular: Self.credits(10)))
            // Settled with its usage record in the same transaction; a retry charges nothing.
            let settled = try await store.settleJobCall(
                requestID: "r1", cost: MicroCredits(2_500_000), fee: MicroCredits(125_000),
                record: try await record("r1", org: org, job: "job_1", cost: 1_000, credits: MicroCredits(2_500_000), store: store))
            #expect(settled.applied)
            #expect(!(try await store.settleJobCall(requestID: "r1", cost: Self.credits(9), fee: .zero, record: nil)).applied)
            #expect(try await reserve(store, org, "r2", Self.credits(5)) == .reserved(trial: .zero, regular: Self.credits(5)))
            #expect(try await store.releaseJobCall(requestID: "r2", reason: "upstream failed", record: nil))
            var job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.charged == MicroCredits(2_625_000) && job.remaining == MicroCredits(47_375_000))
            let closed = try await store.completeJob(jobID: "job_1", organizationID: org, now: WallClock.nowMs())
            guard case .closed(let completed) = closed else { Issue.record("not closed: \(closed)"); return }
            #expect(completed.status == .completed && completed.remaining == .zero && completed.closedAt != nil)
            #expect(try await store.balance(organizationID: org).available == MicroCredits(100_000_000 - 2_625_000))
            // Closed: no second close, no new call; another organisation never sees it.
            #expect(try await store.completeJob(jobID: "job_1", organizationID: org, now: 0) == .alreadyClosed(completed))
            guard case .closed = try await reserve(store, org, "r3", Self.credits(1)) else { Issue.record("a closed job took a call"); return }
            let other = try await store.createOrganization(slug: "other", name: "Other")
            #expect(try await reserve(store, other.id, "r4", Self.credits(1)) == .notFound)
            #expect(try await store.completeJob(jobID: "job_1", organizationID: other.id, now: 0) == .notFound)
            #expect(try await store.job(id: "job_1", organizationID: other.id) == nil)
            // The receipt's calls: the usage records that carry the job id.
            let calls = try await store.jobCalls(jobID: "job_1", organizationID: org)
            #expect(calls.map(\.requestID) == ["r1"] && calls.first?.jobID == "job_1")
            job = try #require(try await store.jobs(organizationID: org, status: .completed, limit: 10).first)
            #expect(job.id == "job_1")
            #expect(try await store.jobs(organizationID: org, status: .open, limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.all)
    func failingWithRefundReturnsEverythingAsRefundEntries(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            _ = try await open(store, org, 40)
            _ = try await reserve(store, org, "r1", Self.credits(10))
            _ = try await store.settleJobCall(requestID: "r1", cost: Self.credits(6), fee: .zero, record: nil)
            _ = try await reserve(store, org, "r2", Self.credits(10))
            let failed = try await store.failJob(jobID: "job_1", organizationID: org, refund: true, now: WallClock.nowMs())
            guard case .closed(let job) = failed else { Issue.record("not failed: \(failed)"); return }
            #expect(job.status == .failed && job.charged == Self.credits(6) && job.refunded == Self.credits(6))
            // r2 was in flight: its hold is still reserved, everything else is back.
            var balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(90) && balance.reserved == Self.credits(10))
            // It settles into the failed job after all: charged, refunded at once, its unused hold back.
            #expect(try await store.settleJobCall(requestID: "r2", cost: Self.credits(4), fee: .zero, record: nil).applied)
            balance = try await store.balance(organizationID: org)
            #expect(balance.available == Self.credits(100) && balance.reserved == .zero)
            let after = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(after.charged == Self.credits(10) && after.refunded == Self.credits(10))
            let kinds = try await store.ledgerEntries(organizationID: org, limit: 20).map(\.kind)
            #expect(kinds.filter { $0 == .refund }.count == 2, "refunds are entries, never deletions: \(kinds)")
            #expect(kinds.contains(.settle))
        }
    }

    @Test(arguments: StoreBackend.all)
    func failingWithChargeKeepsWhatTheCallsCost(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            _ = try await open(store, org, 40)
            _ = try await reserve(store, org, "r1", Self.credits(10))
            _ = try await store.settleJobCall(requestID: "r1", cost: Self.credits(6), fee: .zero, record: nil)
            guard case .closed(let job) = try await store.failJob(jobID: "job_1", organizationID: org, refund: false, now: WallClock.nowMs())
            else { Issue.record("not failed"); return }
            #expect(job.status == .failed && job.refunded == .zero)
            #expect(try await store.balance(organizationID: org).available == Self.credits(94))
            #expect(!(try await store.ledgerEntries(organizationID: org, limit: 20).map(\.kind).contains(.refund)))
        }
    }

    @Test(arguments: StoreBackend.all)
    func anExpiredJobTakesNoCallAndTheSweeperCompletesIt(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            let now = WallClock.nowMs()
            _ = try await open(store, org, 30, expiresAt: now + 60_000)
            _ = try await reserve(store, org, "r1", Self.credits(10))
            _ = try await store.settleJobCall(requestID: "r1", cost: Self.credits(3), fee: .zero, record: nil)
            _ = try await open(store, org, 20, id: "job_2", expiresAt: now - 1)
            guard case .closed = try await reserve(store, org, "r2", Self.credits(1), job: "job_2") else {
                Issue.record("an expired job took a call")
                return
            }
            #expect(try await store.expireJobs(now: now) == 1)
            #expect(try await store.job(id: "job_2", organizationID: org)?.status == .completed)
            #expect(try await store.job(id: "job_1", organizationID: org)?.status == .open)
            #expect(try await store.expireJobs(now: now + 120_000) == 1)
            let job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.status == .completed && job.charged == Self.credits(3))
            #expect(try await store.balance(organizationID: org) == CreditBalance(regular: Self.credits(97)))
        }
    }

    /// kill -9 with a job open and calls in flight: the process's store is gone; another process finds the
    /// job's hold intact and its sweeper returns the dead calls' holds to the job; a call settling late still
    /// settles once.
    @Test(arguments: StoreBackend.all)
    func deadCallsGoBackToTheirJobAndALateSettlementStillCharges(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, database in
            _ = try await open(store, org, 50)
            _ = try await reserve(store, org, "r1", Self.credits(10), instance: "dead")
            _ = try await reserve(store, org, "r2", Self.credits(10), instance: "dead")
            _ = try await reserve(store, org, "r3", Self.credits(10), instance: "i1")
            let restarted = try await database.openAnother()
            var job = try #require(try await restarted.job(id: "job_1", organizationID: org))
            #expect(job.remaining == Self.credits(20) && job.inFlight == Self.credits(30), "the hold is in the database")
            let now = WallClock.nowMs()
            try await restarted.heartbeat(instanceID: "i1", at: now)
            #expect(try await restarted.releaseAbandonedJobCalls(now: now, deadBefore: now - 60_000) == 2)
            #expect(try await restarted.releaseAbandonedJobCalls(now: now, deadBefore: now - 60_000) == 0)
            job = try #require(try await restarted.job(id: "job_1", organizationID: org))
            #expect(job.remaining == Self.credits(40) && job.inFlight == Self.credits(10))
            #expect(try await restarted.balance(organizationID: org).reserved == Self.credits(50), "no credit left the job")
            // r1's request was alive after all: it settles from the job's remaining, once.
            #expect(try await restarted.settleJobCall(requestID: "r1", cost: Self.credits(4), fee: .zero, record: nil).applied)
            #expect(!(try await restarted.settleJobCall(requestID: "r1", cost: Self.credits(4), fee: .zero, record: nil)).applied)
            job = try #require(try await restarted.job(id: "job_1", organizationID: org))
            #expect(job.remaining == Self.credits(36) && job.charged == Self.credits(4))
            // A dead call of a job that closed meanwhile goes back to available.
            _ = try await restarted.completeJob(jobID: "job_1", organizationID: org, now: now)
            #expect(try await restarted.releaseAbandonedJobCalls(now: now, deadBefore: now + 1) == 1)
            #expect(try await restarted.balance(organizationID: org) == CreditBalance(regular: Self.credits(96)))
            try await restarted.close()
        }
    }

    @Test(arguments: StoreBackend.all)
    func anOverageIsPaidFromTheJobThenFromAvailable(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            _ = try await open(store, org, 20)
            _ = try await reserve(store, org, "r1", Self.credits(5))
            // 25 credits: 5 from its hold, 15 from the job's remaining, 5 beyond the job from available.
            _ = try await store.settleJobCall(requestID: "r1", cost: Self.credits(25), fee: .zero, record: nil)
            let job = try #require(try await store.job(id: "job_1", organizationID: org))
            #expect(job.remaining == .zero && job.charged == Self.credits(25))
            #expect(try await store.balance(organizationID: org) == CreditBalance(regular: Self.credits(75)))
            // A BYOK call's fee, with the job empty, comes from available too.
            try await store.chargeJobFee(jobID: "job_1", requestID: "r2", fee: Self.credits(1), record: nil)
            #expect(try await store.job(id: "job_1", organizationID: org)?.charged == Self.credits(26))
            #expect(try await store.balance(organizationID: org).available == Self.credits(74))
        }
    }

    @Test(arguments: StoreBackend.all)
    func trialCreditsHeldByAJobGoBackToTrial(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 10) { store, org, _ in
            try await store.addCredits(organizationID: org, amount: Self.credits(5), kind: .trialGrant, reason: nil, trialExpiresAt: Self.far)
            _ = try await open(store, org, 8)
            #expect(try await store.balance(organizationID: org).trial == .zero)
            #expect(try await reserve(store, org, "r1", Self.credits(6)) == .reserved(trial: Self.credits(5), regular: Self.credits(1)))
            _ = try await store.settleJobCall(requestID: "r1", cost: Self.credits(2), fee: .zero, record: nil)
            _ = try await store.failJob(jobID: "job_1", organizationID: org, refund: true, now: WallClock.nowMs())
            let balance = try await store.balance(organizationID: org)
            #expect(balance.trial == Self.credits(5) && balance.regular == Self.credits(10) && balance.reserved == .zero)
        }
    }

    @Test(arguments: StoreBackend.all)
    func tierCostsListCompletedTierJobsWithTheirListPrice(backend: StoreBackend) async throws {
        try await withJobs(backend, startingCredits: 100) { store, org, _ in
            _ = try await open(store, org, 30, id: "job_a", tier: "quick")
            _ = try await reserve(store, org, "r1", Self.credits(10), job: "job_a")
            _ = try await store.settleJobCall(
                requestID: "r1", cost: Self.credits(4), fee: .zero,
                record: try await record("r1", org: org, job: "job_a", cost: 3_000_000, store: store))
            _ = try await store.completeJob(jobID: "job_a", organizationID: org, now: WallClock.nowMs())
            _ = try await open(store, org, 30, id: "job_b", tier: "quick")  // still open: not in the report
            _ = try await open(store, org, 10, id: "job_c")  // no tier
            _ = try await store.completeJob(jobID: "job_c", organizationID: org, now: WallClock.nowMs())
            #expect(
                try await store.tierJobCosts(organizationID: org) == [
                    TierJobCost(tier: "quick", charged: Self.credits(4), listPrice: PicoUSD(3_000_000))
                ])
        }
    }
}
