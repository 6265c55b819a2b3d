import KeygateCore

/// The arithmetic of a job's money, the same on every backend: which ledger entries a job call's settlement
/// or a job's closing writes, and how the job's figures move. Pure: the backend reads the rows (locked), asks
/// here, and writes the answer in the same transaction.
public enum JobMoney {
    /// One balance change of the organisation's account, to write as a ledger entry.
    public struct Change: Sendable, Equatable {
        public var kind: LedgerEntryKind
        public var regular: Int64 = 0
        public var trial: Int64 = 0
        public var reserved: Int64 = 0
        public var reason: String

        public init(kind: LedgerEntryKind, regular: Int64 = 0, trial: Int64 = 0, reserved: Int64 = 0, reason: String) {
            self.kind = kind
            self.regular = regular
            self.trial = trial
            self.reserved = reserved
            self.reason = reason
        }
    }

    /// A job's money as its row holds it (remaining hold and what was charged, each split trial/regular).
    public struct Figures: Sendable, Equatable {
        public var remainingTrial: Int64
        public var remainingRegular: Int64
        public var chargedTrial: Int64 = 0
        public var chargedRegular: Int64 = 0
        public var refunded: Int64 = 0

        public init(remainingTrial: Int64, remainingRegular: Int64, chargedTrial: Int64, chargedRegular: Int64, refunded: Int64) {
            self.remainingTrial = remainingTrial
            self.remainingRegular = remainingRegular
            self.chargedTrial = chargedTrial
            self.chargedRegular = chargedRegular
            self.refunded = refunded
        }
    }

    /// What a settlement writes: the entries (in order) and the job's figures after it.
    public struct Plan: Sendable, Equatable {
        public var changes: [Change] = []
        public var figures: Figures
    }

    /// Settles a job call: `cost` then `fee`, each paid from the call's own hold (trial part first), beyond it
    /// from the job's remaining (only while the job is open), beyond that from available (trial first: the
    /// overage, as a plain call's). What the call's hold did not use goes back to an open job without any entry
    /// (it never left reserved), or to available with a `release` entry once the job closed. A call settling
    /// into a job that was failed with a refund is refunded at once, as its job's other calls were.
    public static func settleCall(
        jobID: String, callTrial: Int64, callRegular: Int64, job: Figures, jobOpen: Bool, refundsLateCalls: Bool,
        availableTrial: Int64, cost: Int64, fee: Int64
    ) -> Plan {
        var plan = Plan(figures: job)
        var callTrial = callTrial
        var callRegular = callRegular
        var availableTrial = max(availableTrial, 0)
        var chargedTrial: Int64 = 0
        var chargedRegular: Int64 = 0
        for (kind, amount) in [(LedgerEntryKind.settle, cost), (.fee, fee)] where amount > 0 {
            let heldTrial = min(amount, callTrial)
            callTrial -= heldTrial
            let heldRegular = min(amount - heldTrial, callRegular)
            callRegular -= heldRegular
            var left = amount - heldTrial - heldRegular
            var jobTrial: Int64 = 0
            var jobRegular: Int64 = 0
            if jobOpen {
                jobTrial = min(left, plan.figures.remainingTrial)
                plan.figures.remainingTrial -= jobTrial
                left -= jobTrial
                jobRegular = min(left, plan.figures.remainingRegular)
                plan.figures.remainingRegular -= jobRegular
                left -= jobRegular
            }
            let overTrial = min(left, availableTrial)
            availableTrial -= overTrial
            let overRegular = left - overTrial
            plan.changes.append(
                Change(
                    kind: kind, regular: -overRegular, trial: -overTrial, reserved: -(heldTrial + heldRegular + jobTrial + jobRegular),
                    reason: left > 0 ? "job \(jobID): overage beyond its hold" : "job \(jobID)"))
            chargedTrial += heldTrial + jobTrial + overTrial
            chargedRegular += heldRegular + jobRegular + overRegular
        }
        if callTrial + callRegular > 0 {
            if jobOpen {
                plan.figures.remainingTrial += callTrial
                plan.figures.remainingRegular += callRegular
            } else {
                plan.changes.append(
                    Change(
                        kind: .release, regular: callRegular, trial: callTrial, reserved: -(callTrial + callRegular),
                        reason: "job \(jobID) closed: unused part of its call's hold"))
            }
        }
        plan.figures.chargedTrial += chargedTrial
        plan.figures.chargedRegular += chargedRegular
        if refundsLateCalls && chargedTrial + chargedRegular > 0 {
            plan.changes.append(
                Change(kind: .refund, regular: chargedRegular, trial: chargedTrial, reason: "job \(jobID) failed: its call's cost returned"))
            plan.figures.refunded += chargedTrial + chargedRegular
        }
        return plan
    }

    /// Closes a job: its remaining hold goes back to available (`release`) and, for a refunded failure,
    /// everything its calls cost so far (`refund`, each part where it came from).
    public static func close(jobID: String, job: Figures, refund: Bool) -> Plan {
        var plan = Plan(figures: job)
        let remaining = job.remainingTrial + job.remainingRegular
        if remaining > 0 {
            plan.changes.append(
                Change(
                    kind: .release, regular: job.remainingRegular, trial: job.remainingTrial, reserved: -remaining,
                    reason: "job \(jobID) closed: unused part of its hold"))
        }
        plan.figures.remainingTrial = 0
        plan.figures.remainingRegular = 0
        let charged = job.chargedTrial + job.chargedRegular
        if refund && charged > 0 {
            plan.changes.append(
                Change(kind: .refund, regular: job.chargedRegular, trial: job.chargedTrial, reason: "job \(jobID) failed: its calls' cost returned"))
            plan.figures.refunded = charged
        }
        return plan
    }

    /// Takes a call's estimate from a job's remaining hold, trial first; nil if it does not fit.
    public static func carve(_ amount: Int64, from job: Figures) -> (trial: Int64, regular: Int64)? {
        guard amount >= 0, job.remainingTrial + job.remainingRegular >= amount else { return nil }
        let trial = min(job.remainingTrial, amount)
        return (trial, amount - trial)
    }
}
