/// The back-off after failed sign-ins, the same rule for an account and for a client address: up to
/// `freeFailures` failures within `windowMs` cost nothing; from then on each attempt waits `baseDelaySeconds`
/// after the latest failure, doubled with every further failure, at most `maxDelaySeconds`.
public struct LoginThrottle: Sendable {
    public var freeFailures = 5
    public var windowMs: Int64 = 15 * 60 * 1000
    public var baseDelaySeconds: Int64 = 30
    public var maxDelaySeconds: Int64 = 15 * 60

    public init() {}

    /// Seconds still to wait, or nil when an attempt may go ahead.
    public func waitSeconds(after failures: (count: Int, latestAt: Int64?), nowMs: Int64) -> Int64? {
        guard failures.count >= freeFailures, let latest = failures.latestAt else { return nil }
        let doublings = min(failures.count - freeFailures, 20)
        let delay = min(baseDelaySeconds << Int64(doublings), maxDelaySeconds)
        let remainingMs = latest + delay * 1000 - nowMs
        return remainingMs > 0 ? (remainingMs + 999) / 1000 : nil
    }
}
