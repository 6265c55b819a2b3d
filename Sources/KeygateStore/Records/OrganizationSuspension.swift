/// Why and since when an operator suspended an organisation: its `/v1` calls are refused with 403.
public struct OrganizationSuspension: Sendable, Hashable {
    public var reason: String
    public var suspendedAt: Int64

    public init(reason: String, suspendedAt: Int64) {
        self.reason = reason
        self.suspendedAt = suspendedAt
    }
}
