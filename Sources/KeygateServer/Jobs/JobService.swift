import KeygateCore
import KeygateStore
import Logging

/// Jobs as the API uses them (SPEC §5): opening one for an amount or a tier, closing it by the operator's
/// failed-job policy, its receipt and the tiers report. The money rules themselves are the store's
/// (`JobStore`, `JobMoney`); this turns requests into them and outcomes into `GatewayError`s.
struct JobService: Sendable {
    let store: any JobStore
    /// The operator's tiers and failed-job policy in force (a SIGHUP may replace them).
    let tierSource: Reloadable<[JobTier]>
    let failedJobPolicySource: Reloadable<FailedJobPolicy>
    var tiers: [JobTier] { tierSource.value }
    var failedJobPolicy: FailedJobPolicy { failedJobPolicySource.value }

    /// How long a job stays open when the request does not say (`expires_in`), and the most it may ask.
    static let defaultLifetimeSeconds: Int64 = 3_600
    static let maximumLifetimeSeconds: Int64 = 7 * 24 * 3_600
    /// The largest amount one job may hold (a typo's guard: ten million credits).
    static let maximumCredits = MicroCredits.credits(10_000_000)

    /// Holds the amount (or the tier's upper bound) at once; 402 naming the balance when it does not fit.
    func open(_ request: JobRequest, organization: Organization) async throws -> Job {
        var amount: MicroCredits
        var tierName: String?
        switch request.size {
        case .credits(let credits): amount = credits
        case .tier(let name):
            guard let tier = tiers.first(where: { $0.name == name }) else { throw GatewayError.unknownTier(name, known: tiers.map(\.name)) }
            amount = tier.maximum
            tierName = tier.name
        }
        guard amount.value > 0, amount <= Self.maximumCredits else {
            throw GatewayError.invalidValue("'credits' must be more than 0 and at most \(Self.maximumCredits).", param: "credits")
        }
        let now = WallClock.nowMs()
        let opening = JobOpening(
            id: Identifiers.make("job"), organizationID: organization.id, amount: amount, tier: tierName, metadata: request.metadata,
            expiresAt: now + (request.expiresInSeconds ?? Self.defaultLifetimeSeconds) * 1000)
        switch try await store.openJob(opening) {
        case .opened(let job): return job
        case .insufficient(let balance):
            throw GatewayError.insufficientCreditsForJob(amount: amount, available: balance.available, organization: organization.slug)
        }
    }

    /// How long closing waits for calls in flight to settle into the job first (a call still running after it
    /// settles into the closed job later: charged, refunded too if the job was).
    var inFlightWait: Duration = .seconds(5)

    /// What the calls cost stays charged; the rest of the hold returns to available at once.
    func complete(jobID: String, organization: Organization) async throws -> Job {
        await waitForCallsInFlight(jobID: jobID, organization: organization)
        return try close(try await store.completeJob(jobID: jobID, organizationID: organization.id, now: WallClock.nowMs()), jobID: jobID)
    }

    /// By `KEYGATE_FAILED_JOB_POLICY`: everything the calls cost comes back (`refund`), or stays charged.
    func fail(jobID: String, organization: Organization) async throws -> Job {
        await waitForCallsInFlight(jobID: jobID, organization: organization)
        return try close(
            try await store.failJob(jobID: jobID, organizationID: organization.id, refund: failedJobPolicy == .refund, now: WallClock.nowMs()),
            jobID: jobID)
    }

    /// Waits (up to `inFlightWait`) until no call of the job holds part of it; best effort, never throws.
    private func waitForCallsInFlight(jobID: String, organization: Organization) async {
        let deadline = ContinuousClock.now + inFlightWait
        while ContinuousClock.now < deadline {
            guard let job = try? await store.job(id: jobID, organizationID: organization.id), job.status == .open, job.inFlight.value > 0
            else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private func close(_ outcome: JobCloseOutcome, jobID: String) throws -> Job {
        switch outcome {
        case .closed(let job): return job
        case .notFound: throw GatewayError.jobNotFound(jobID, in: "id")
        case .alreadyClosed(let job): throw GatewayError.jobClosed(jobID, status: job.status.rawValue)
        }
    }

    /// The job, its calls and their totals by model.
    func receipt(jobID: String, organization: Organization) async throws -> (job: Job, calls: [UsageRecord]) {
        guard let job = try await store.job(id: jobID, organizationID: organization.id) else { throw GatewayError.jobNotFound(jobID, in: "id") }
        return (job, try await store.jobCalls(jobID: jobID, organizationID: organization.id))
    }

    /// Each tier with what its completed jobs cost (the tiers report); every configured tier is listed, one
    /// without completed jobs with a count of 0.
    func tiersReport(organization: Organization) async throws -> [(tier: JobTier, costs: TierCostStatistics)] {
        let costs = try await store.tierJobCosts(organizationID: organization.id)
        return tiers.map { tier in
            let jobs = costs.filter { $0.tier == tier.name }
            return (tier, TierCostStatistics(charged: jobs.map(\.charged), listPrice: jobs.reduce(PicoUSD.zero) { $0 + $1.listPrice }))
        }
    }
}
