import KeygateCore
import KeygateStore
import Logging

/// The credits path of a request (SPEC §5): reserve the estimate, then settle the actual cost (or release
/// everything if the request failed before producing anything).
struct CreditMeter: Sendable {
    let store: any LedgerStore
    let policy: CreditPolicy
    let instanceID: String
    let leaseSeconds: Int64

    /// Holds the estimate, or throws 402 saying which number did not fit and what to do.
    func reserve(requestID: String, organization: Organization, estimate: CreditEstimate, provider: String) async throws {
        let outcome = try await store.reserve(
            organizationID: organization.id, requestID: requestID, amount: estimate.reservation,
            instanceID: instanceID, leaseExpiresAt: WallClock.nowMs() + leaseSeconds * 1000)
        if case .insufficient(let balance) = outcome {
            throw GatewayError.insufficientCredits(
                estimate: estimate, available: balance.available, provider: provider, organization: organization.slug)
        }
    }

    /// The cost of `tokens` at the model's list price, in credits rounded up, and the platform fee on it.
    func price(of tokens: TokenUsage, model: ModelSpec, billing: BillingPath) -> (cost: MicroCredits, fee: MicroCredits) {
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
        do {
            switch billing {
            case .credits: _ = try await store.settle(requestID: requestID, cost: cost, fee: fee, record: record)
            case .byok:
                // No fee, nothing to write with the record: it goes to the usage writer like a free request's.
                guard fee.value > 0 else { return .nothingToCharge }
                try await store.chargeFee(organizationID: organizationID, requestID: requestID, fee: fee, record: record)
            case .free: return .nothingToCharge
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
    func release(requestID: String, reason: String, record: UsageRecord? = nil, logger: Logger) async -> Bool {
        do {
            try await store.release(requestID: requestID, reason: reason, record: record)
            return true
        } catch {
            logger.error("Could not release the request's reservation", metadata: ["error": "\(error)"])
            return false
        }
    }
}
