import KeygateCore
import KeygateStore
import Logging

/// The credits path of a request (SPEC §5): reserve the estimate, then settle the actual cost (or release
/// everything if the request failed before producing anything). A request naming a job (`x-keygate-job`) does
/// the same against the job's hold (`JobStore`); one without costs exactly what it did before jobs existed.
struct CreditMeter: Sendable {
    let store: any LedgerStore
    let jobs: any JobStore
    /// The fees and estimate rules in force (a SIGHUP may replace them; each request reads them once).
    let policySource: Reloadable<CreditPolicy>
    var policy: CreditPolicy { policySource.value }
    let instanceID: String
    let leaseSeconds: Int64
    /// Counts the holds this process has open (a reservation or job-call hold from `reserve` to its settlement).
    var metrics: GatewayMetrics? = nil

    /// Holds the estimate, or throws 402 saying which number did not fit and what to do.
    func reserve(requestID: String, organization: Organization, estimate: CreditEstimate, provider: String, jobID: String?) async throws {
        if let jobID {
            return try await reserveInJob(jobID, requestID: requestID, organization: organization, estimate: estimate)
        }
        let outcome = try await store.reserve(
            organizationID: organization.id, requestID: requestID, amount: estimate.reservation,
            instanceID: instanceID, leaseExpiresAt: WallClock.nowMs() + leaseSeconds * 1000)
        if case .insufficient(let balance) = outcome {
            throw GatewayError.insufficientCredits(
                estimate: estimate, available: balance.available, provider: provider, organization: organization.slug)
        }
        metrics?.reservationsOpen.increment()
    }

    /// Holds the estimate out of the job's hold: 404 for a job not the organisation's, 409 for a closed one,
    /// 402 `job_exhausted` when what is left does not cover it. Nothing is held when it throws.
    private func reserveInJob(_ jobID: String, requestID: String, organization: Organization, estimate: CreditEstimate) async throws {
        let outcome = try await jobs.reserveJobCall(
            jobID: jobID, organizationID: organization.id, requestID: requestID, amount: estimate.reservation,
            instanceID: instanceID, leaseExpiresAt: WallClock.nowMs() + leaseSeconds * 1000)
        switch outcome {
        case .reserved:
            metrics?.jobHoldsOpen.increment()
            return
        case .notFound: throw GatewayError.jobNotFound(jobID)
        case .closed(let job): throw GatewayError.jobClosed(jobID, status: Self.closedStatus(job))
        case .exhausted(let job):
            throw GatewayError.jobExhausted(jobID: jobID, estimate: estimate, remaining: job.remaining, amount: job.amount, charged: job.charged)
        }
    }

    /// A call that pays nothing from the job (BYOK, a free model) still must name an open job of its organisation.
    func checkJob(_ jobID: String, organization: Organization) async throws {
        guard let job = try await jobs.job(id: jobID, organizationID: organization.id) else { throw GatewayError.jobNotFound(jobID) }
        guard job.status == .open, job.expiresAt > WallClock.nowMs() else { throw GatewayError.jobClosed(jobID, status: Self.closedStatus(job)) }
    }

    static func closedStatus(_ job: Job) -> String {
        job.status == .open ? "expired" : job.status.rawValue
    }

    /// The cost of `tokens` at the model's list price, in credits rounded up, and the platform fee on it, under
    /// `policy` (the one the request was planned under) or, without one, the policy in force.
    func price(
        of tokens: TokenUsage, model: ModelSpec, billing: BillingPath, policy: CreditPolicy? = nil
    ) -> (cost: MicroCredits, fee: MicroCredits) {
        let policy = policy ?? self.policy
        let cost = tokens.cost(at: model).microCreditsRoundedUp
        switch billing {
        case .credits: return (cost, CreditPolicy.fee(on: cost, basisPoints: policy.platformFeeBasisPoints))
        // The provider bills the organisation for the tokens; Keygate may charge its BYOK fee on their list
        // price (for a model free through the organisation's key: on its paid version's price).
        case .byok:
            let listCost = tokens.cost(at: model.listPriceModel).microCreditsRoundedUp
            return (.zero, CreditPolicy.fee(on: listCost, basisPoints: policy.byokFeeBasisPoints))
        case .free: return (.zero, .zero)
        }
    }

    /// What became of a settlement.
    enum SettlementOutcome {
        /// Charged, with the usage record in the same transaction.
        case stored
        /// Nothing to charge (no BYOK fee, a free model): the record is still to be written.
        case nothingToCharge
        /// The database refused the transaction: nothing was charged and the record is still to be written.
        case failed
    }

    /// Settles a credits request or charges a BYOK fee, writing the request's usage record in the same
    /// transaction.
    func settle(
        requestID: String, organizationID: String, cost: MicroCredits, fee: MicroCredits, billing: BillingPath,
        record: UsageRecord, logger: Logger
    ) async -> SettlementOutcome {
        if billing == .credits { holdEnded(jobID: record.jobID) }
        do {
            switch (billing, record.jobID) {
            case (.credits, nil): _ = try await store.settle(requestID: requestID, cost: cost, fee: fee, record: record)
            case (.credits, _?): _ = try await jobs.settleJobCall(requestID: requestID, cost: cost, fee: fee, record: record)
            case (.byok, let jobID):
                // No fee, nothing to write with the record: it goes to the usage writer like a free request's.
                guard fee.value > 0 else { return .nothingToCharge }
                if let jobID {
                    try await jobs.chargeJobFee(jobID: jobID, requestID: requestID, fee: fee, record: record)
                } else {
                    try await store.chargeFee(organizationID: organizationID, requestID: requestID, fee: fee, record: record)
                }
            case (.free, _): return .nothingToCharge
            }
            return .stored
        } catch {
            // The reservation stays open and the sweeper returns it after its lease; say so loudly.
            logger.error("Could not settle the request's credits", metadata: ["error": "\(error)"])
            return .failed
        }
    }

    /// Returns the whole reservation, writing the usage record (if any) with it. False if that failed.
    @discardableResult
    func release(requestID: String, jobID: String?, reason: String, record: UsageRecord? = nil, logger: Logger) async -> Bool {
        holdEnded(jobID: jobID)
        do {
            if jobID != nil {
                try await jobs.releaseJobCall(requestID: requestID, reason: reason, record: record)
            } else {
                try await store.release(requestID: requestID, reason: reason, record: record)
            }
            return true
        } catch {
            logger.error("Could not release the request's reservation", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// A hold of this process ends (settled or released, or left to the sweeper when that failed).
    private func holdEnded(jobID: String?) {
        if jobID != nil { metrics?.jobHoldsOpen.decrement() } else { metrics?.reservationsOpen.decrement() }
    }
}
