import KeygateCore
import KeygateStore

/// The end of a call that reached a provider: its credits settled (or BYOK fee charged, or reservation
/// returned) and its usage record written, in one transaction where money moves.
struct CallSettlement: Sendable {
    let credits: CreditMeter
    /// Told of every charge, to start an auto top-up when the balance fell below its threshold.
    let topUps: AutoTopUp?

    /// Settles for `tokens` and records the call; returns what was charged (cost + fee). A credit-billed call
    /// that failed before producing anything gets its whole reservation back instead.
    func settle(
        _ usage: UsageDraft, status: Int, errorCode: String?, tokens: TokenUsage, producedOutput: Bool,
        timeToFirstToken: Duration? = nil
    ) async -> MicroCredits {
        guard let resolved = usage.resolved, let billing = usage.billing, billing != .free else {
            usage.record(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            return .zero
        }
        if billing == .credits && !producedOutput && errorCode != nil {
            let record = usage.makeRecord(status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken)
            let stored = await credits.release(
                requestID: usage.requestID, jobID: usage.jobID, reason: errorCode ?? "failed", record: record, logger: usage.logger)
            usage.finish(record, alreadyStored: stored)
            return .zero
        }
        let (cost, fee) = credits.price(of: tokens, model: resolved.model, billing: billing, policy: usage.policy)
        let record = usage.makeRecord(
            status: status, errorCode: errorCode, tokens: tokens, timeToFirstToken: timeToFirstToken,
            credits: cost, fee: fee)
        let outcome = await credits.settle(
            requestID: usage.requestID, organizationID: usage.caller.organization.id, cost: cost,
            fee: fee, billing: billing, record: record, logger: usage.logger)
        guard outcome != .failed else {
            // The record says what happened: the work was done, nothing was charged (the sweeper returns the
            // reservation after its lease). It never claims a charge the ledger does not have.
            usage.finish(
                usage.makeRecord(status: status, errorCode: "settlement_failed", tokens: tokens, timeToFirstToken: timeToFirstToken),
                alreadyStored: false)
            return .zero
        }
        usage.finish(record, alreadyStored: outcome == .stored)
        if outcome == .stored { topUps?.settled(organizationID: usage.caller.organization.id) }
        return MicroCredits(cost.value + fee.value)
    }
}
