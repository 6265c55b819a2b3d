/// Failed sign-ins recorded under one key (an account or a client address) since a point in time.
public struct LoginFailures: Sendable, Hashable {
    public var count: Int
    /// Epoch ms of the newest failure, nil when `count` is 0.
    public var latestAt: Int64?

    public init(count: Int, latestAt: Int64?) {
        self.count = count
        self.latestAt = latestAt
    }
}
