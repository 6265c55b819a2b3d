/// What a failed job costs the organisation (`KEYGATE_FAILED_JOB_POLICY`).
public enum FailedJobPolicy: String, Sendable, Hashable {
    /// Everything its calls cost comes back (`refund` ledger entries): the seeds' "all reserved credits returned".
    case refund
    /// What its calls cost stays charged, like a completed job.
    case charge
}
