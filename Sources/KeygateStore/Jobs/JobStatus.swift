/// Where a job is in its life. Only an open job takes calls; a closed one never reopens.
public enum JobStatus: String, Sendable, Hashable, CaseIterable {
    case open
    /// Closed by its owner or, past `expires_at`, by the sweeper: its calls' cost stays charged.
    case completed
    /// Closed as failed: by the operator's policy, its calls' cost was refunded or stays charged.
    case failed
}
