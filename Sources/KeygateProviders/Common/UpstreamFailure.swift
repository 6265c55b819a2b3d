/// What came back from a provider when it did not answer 2xx.
public struct UpstreamFailure: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// `retry-after`, or `retry-after-ms` turned into whole seconds.
    public var retryAfter: String?

    public init(status: Int, body: [UInt8], retryAfter: String?) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }
}
